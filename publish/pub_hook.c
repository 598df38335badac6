/* Test hooks of the publication server (see pub_hook.h). */
#include "publish/pub_hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_log.h"

void
pub_hook_pause(const char *point, uint64_t serial)
{
	const char	*v = getenv("CAIRN_PUBD_TEST_PAUSE"), *p;
	struct timespec	 ts;
	unsigned long long s, ms = 60000;
	char		*end;
	size_t		 n;

	if (v == NULL || (p = strchr(v, ':')) == NULL)
		return;
	n = (size_t)(p - v);
	if (n != strlen(point) || strncmp(v, point, n) != 0)
		return;
	s = strtoull(p + 1, &end, 10);
	if (end == p + 1 || s != serial)
		return;
	if (*end == ':')
		ms = strtoull(end + 1, NULL, 10);
	cm_warn("test hook: pausing at %s of serial %" PRIu64 " for %llu ms",
	    point, serial, ms);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
