#include "common/cm_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct {
	char			prog[32];
	enum cm_loglevel	min;
	pthread_mutex_t		mtx;
} logger = { "cairn", CM_LOG_INFO, PTHREAD_MUTEX_INITIALIZER };

void
cm_log_init(const char *progname, enum cm_loglevel min)
{
	pthread_mutex_lock(&logger.mtx);
	snprintf(logger.prog, sizeof(logger.prog), "%s", progname);
	logger.min = min;
	pthread_mutex_unlock(&logger.mtx);
}

int
cm_log_parse_level(const char *s, enum cm_loglevel *out)
{
	static const struct { const char *n; enum cm_loglevel l; } tab[] = {
		{ "debug", CM_LOG_DEBUG }, { "info", CM_LOG_INFO },
		{ "warning", CM_LOG_WARN }, { "warn", CM_LOG_WARN },
		{ "error", CM_LOG_ERR },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].n) == 0) {
			*out = tab[i].l;
			return 0;
		}
	return -1;
}

void
cm_log(enum cm_loglevel lvl, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warning", "error" };
	char		ts[32], line[2048];
	struct timespec	now;
	struct tm	tm;
	va_list		ap;

	if (lvl < logger.min)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line under a lock: lines from threads never interleave. */
	pthread_mutex_lock(&logger.mtx);
	fprintf(stderr, "%s %s[%s] %s\n", ts, logger.prog, names[lvl], line);
	pthread_mutex_unlock(&logger.mtx);
}
