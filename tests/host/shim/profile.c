/* Host side of include/ghee/profile.h: no profiler in the host tool, which
 * runs under perf on the host instead (README). */
#include <errno.h>

#include <ghee/profile.h>

int profile_start(uint32_t hz)
{
	(void)hz;
	return -EOPNOTSUPP;
}

int profile_stop(struct profile_result *r)
{
	(void)r;
	return -EINVAL;
}

void profile_result_free(struct profile_result *r)
{
	(void)r;
}
