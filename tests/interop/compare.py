#!/usr/bin/env python3
"""Compare what build/ghee reads from a btrfs image with its source tree.

usage: compare.py [--expect-error REGEX] [--allow REGEX] GHEE IMAGE SRC

Checks, through one run of the host tool:
  - `find /` lists exactly the paths of SRC;
  - `ls -l DIR` of every directory gives each entry's type, permissions,
    owner, size (files), link count (files), mtime and symlink target as
    lstat() and readlink() on SRC do;
  - `sha256sum` of every regular file equals hashlib's digest;
  - `getfattr -h -d -m - -e hex` of every path gives the extended
    attributes os.listxattr and os.getxattr give on SRC;
  - devices show their numbers in ls -l.
Control bytes in names are typed as \\xHH escapes inside double quotes.
Prints '#' diagnostic lines; exits 0 when all match, 1 if not.

--allow REGEX: the image is damaged where ghee can recover: a message
  (stderr) matching REGEX must be printed, any other message is a failure,
  and everything must read back exactly.
--expect-error REGEX: the image is damaged. Success means ghee did not
  crash or hang, its output matches REGEX, and every digest it did print is
  right (no wrong data); missing entries and digests are then allowed.
"""
import hashlib
import os
import re
import stat
import subprocess
import sys
import time

PROMPT = b"ghee> "


def quote(path):
    """path as one shell argument: in double quotes, with \\, " and every
    byte the line editor would take as a key written as an escape."""
    out = b""
    for c in path:
        if c in b'"\\':
            out += b"\\" + bytes([c])
        elif c < 0x20 or c == 0x7F:
            out += b"\\x%02x" % c
        else:
            out += bytes([c])
    return b'"' + out + b'"'


def host_tree(src):
    """Paths (bytes, '/'-rooted) and lstat results of everything in src."""
    out = {b"/": os.lstat(src)}
    for root, dirs, files in os.walk(src):
        rel = root[len(src):] or b"/"
        for n in dirs + files:
            p = (rel.rstrip(b"/") + b"/" + n)
            out[p] = os.lstat(root + b"/" + n)
    return out


def mode_string(m):
    kinds = {stat.S_IFDIR: "d", stat.S_IFREG: "-", stat.S_IFLNK: "l",
             stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFIFO: "p",
             stat.S_IFSOCK: "s"}
    s = kinds.get(stat.S_IFMT(m), "?")
    for i, ch in enumerate("rwxrwxrwx"):
        s += ch if m & (0o400 >> i) else "-"
    # set-user-ID, set-group-ID and sticky bits, as coreutils shows them
    s = list(s)
    for bit, pos, on in ((0o4000, 3, "s"), (0o2000, 6, "s"),
                         (0o1000, 9, "t")):
        if m & bit:
            s[pos] = on if s[pos] == "x" else on.upper()
    return "".join(s)


def expected_ls_line(src, path, st):
    name = path.rsplit(b"/", 1)[1]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(st.st_mtime)))
    if stat.S_ISDIR(st.st_mode):
        # btrfs counts directory sizes and links its own way: skip both.
        head = "%s * %d %d *" % (mode_string(st.st_mode), st.st_uid,
                                 st.st_gid)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        head = "%s %d %d %d %d, %d" % (mode_string(st.st_mode),
                                       st.st_nlink, st.st_uid, st.st_gid,
                                       os.major(st.st_rdev),
                                       os.minor(st.st_rdev))
    else:
        head = "%s %d %d %d %d" % (mode_string(st.st_mode), st.st_nlink,
                                   st.st_uid, st.st_gid, st.st_size)
    line = (head + " " + when + " ").encode() + name
    if stat.S_ISLNK(st.st_mode):
        line += b" -> " + os.readlink(src + path)
    return line


def normalize_ls_line(line, st):
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return line
    f = line.split(b" ", 7)
    if len(f) < 8:
        return line
    if stat.S_ISDIR(st.st_mode):
        f[1] = b"*"
        f[4] = b"*"
    return b" ".join(f)


def run_ghee(ghee, image, cmds):
    script = b"mount vda ro\n" + b"".join(c + b"\n" for c in cmds)
    p = subprocess.run([ghee, image], input=script, capture_output=True,
                       timeout=120)
    if p.returncode < 0 or p.returncode >= 128:
        raise RuntimeError("ghee died with status %d: %s" %
                           (p.returncode, p.stderr[-500:]))
    # Split stdout into the output of each command, keyed by its line. Log
    # messages ("error: ...", "warning: ...") share the console; collect
    # them apart, with anything on stderr.
    outs, cur, msgs = {}, None, [p.stderr.strip()]
    for line in p.stdout.split(b"\n"):
        if line.startswith((b"error: ", b"warning: ")):
            msgs.append(line)
        elif line.startswith(PROMPT):
            cur = line[len(PROMPT):]
            outs.setdefault(cur, [])
        elif cur is not None:
            outs[cur].append(line)
    return outs, b"\n".join(m for m in msgs if m)


def getfattr_cmd(path):
    return b"getfattr -h -d -m - -e hex --absolute-names " + quote(path)


def host_xattrs(src, path):
    """name -> value of path's extended attributes (not following)."""
    p = src + path
    return {os.fsencode(n): os.getxattr(p, n, follow_symlinks=False)
            for n in os.listxattr(p, follow_symlinks=False)}


def ghee_xattrs(lines):
    """name -> value from getfattr -e hex output lines, or None when a
    line is not one of getfattr's."""
    got = {}
    for l in lines:
        if not l or l.startswith(b"# file: "):
            continue
        name, eq, val = l.partition(b"=0x")
        if not eq:
            return None
        got[name] = bytes.fromhex(val.decode())
    return got


def digests(outs):
    """path -> hex digest, from the output of the sha256sum commands."""
    sums = {}
    for c, lines in outs.items():
        if c.startswith(b"sha256sum "):
            for l in lines:
                if len(l) > 66 and l[64:66] == b"  ":
                    sums[l[66:]] = l[:64].decode()
    return sums


def check_damaged(outs, err, expect, src, files):
    """Damaged image: an error was reported and nothing wrong was returned."""
    text = err + b"\n" + b"\n".join(b"\n".join(v) for v in outs.values())
    bad = 0
    if not expect.search(text):
        print("# expected message not seen; ghee said:")
        for l in text.strip().split(b"\n")[:8]:
            print("#   " + l.decode("utf-8", "replace"))
        bad += 1
    sums = digests(outs)
    for f in files:
        if f in sums:
            with open(src + f, "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != sums[f]:
                    print("# WRONG DATA returned for %r" % f)
                    bad += 1
    m = expect.search(text)
    if m:
        line = text[:m.end()].rsplit(b"\n", 1)[-1] + \
            text[m.end():].split(b"\n", 1)[0]
        print("# " + line.decode("utf-8", "replace"))
    print("# %d digests returned, all correct" % len(sums) if not bad else
          "# damaged-image check failed")
    return 1 if bad else 0


def main():
    args, expect, allow = sys.argv[1:], None, None
    while args and args[0].startswith("--"):
        if args[0] == "--expect-error":
            expect = re.compile(args[1].encode())
        elif args[0] == "--allow":
            allow = re.compile(args[1].encode())
        args = args[2:]
    ghee, image, src = args[0], args[1], os.fsencode(args[2])
    src = src.rstrip(b"/")
    tree = host_tree(src)
    dirs = sorted(p for p, st in tree.items() if stat.S_ISDIR(st.st_mode))
    files = sorted(p for p, st in tree.items() if stat.S_ISREG(st.st_mode))

    cmds = [b"find /"]
    cmds += [b"ls -l " + quote(d) for d in dirs]
    cmds += [getfattr_cmd(p) for p in sorted(tree)]
    batch = []
    for f in files:
        batch.append(quote(f))
        if len(batch) == 40 or sum(map(len, batch)) > 3000:
            cmds.append(b"sha256sum " + b" ".join(batch))
            batch = []
    if batch:
        cmds.append(b"sha256sum " + b" ".join(batch))
    outs, err = run_ghee(ghee, image, cmds)
    bad = 0

    def problem(msg):
        nonlocal bad
        bad += 1
        if bad <= 20:
            print("# " + msg.decode("utf-8", "replace")
                  if isinstance(msg, bytes) else "# " + msg)

    if expect is not None:
        return check_damaged(outs, err, expect, src, files)
    got = outs.get(b"find /", [])
    got = sorted(l for l in got if l)
    want = sorted(tree)
    if got != want:
        for p in sorted(set(want) - set(got))[:5]:
            problem(b"find: missing " + p)
        for p in sorted(set(got) - set(want))[:5]:
            problem(b"find: unexpected " + p)
    for d in dirs:
        lines = [l for l in outs.get(b"ls -l " + quote(d), []) if l]
        base = d.rstrip(b"/")
        # A device shows "MAJOR, MINOR" for its size: one field more.
        names = {l.split(b" ", 8 if l[:1] in b"cb" else 7)[-1]
                 .split(b" -> ")[0]: l for l in lines}
        for p, st in tree.items():
            if p == b"/" or p.rsplit(b"/", 1)[0] != base:
                continue
            name = p.rsplit(b"/", 1)[1]
            want_line = expected_ls_line(src, p, st)
            have = names.get(name)
            if have is None or normalize_ls_line(have, st) != want_line:
                problem(b"ls -l: want '" + want_line + b"' got '" +
                        (have or b"(none)") + b"'")
    nx = 0
    for p in sorted(tree):
        want = host_xattrs(src, p)
        got = ghee_xattrs(outs.get(getfattr_cmd(p), []))
        nx += len(want)
        if got != want:
            problem(b"getfattr " + p + b": want " + repr(want).encode() +
                    b" got " + repr(got).encode()[:300])
    sums = digests(outs)
    for f in files:
        with open(src + f, "rb") as fh:
            want = hashlib.sha256(fh.read()).hexdigest()
        if sums.get(f) != want:
            problem(b"sha256sum " + f + b": want " + want.encode() +
                    b" got " + str(sums.get(f)).encode())
    for l in (l for l in err.strip().split(b"\n") if l):
        if not (allow and allow.search(l)):
            problem(b"unexpected message: " + l)
    if allow and not allow.search(err):
        problem("expected warning not printed: " + allow.pattern.decode())
    elif allow:
        print("# " + allow.search(err).group(0).decode())
    print("# %d paths, %d directories, %d files hashed, %d extended "
          "attributes" % (len(tree), len(dirs), len(sums), nx))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
