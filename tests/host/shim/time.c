/* Host clocks: CLOCK_MONOTONIC since start-up, and the real time. */
#include <time.h>

#include <ghee/time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t time_ns(void)
{
	static uint64_t start;

	if (!start)
		start = now_ns();
	return now_ns() - start;
}

uint64_t time_wall_sec(void)
{
	return (uint64_t)time(NULL);
}
