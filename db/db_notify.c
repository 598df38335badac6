/*
 * LISTEN / NOTIFY: the wake-up signal between cairnd, cairn-pubd and the
 * API.  A notification says "look again"; the data is in the tables.
 */
#include "db/db_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
channel_ok(const char *c)
{
	size_t	n = strlen(c);

	if (n == 0 || n > 63)
		return 0;
	for (; *c != '\0'; c++)
		if (!(*c == '_' || (*c >= 'a' && *c <= 'z') ||
		    (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return 0;
	return 1;
}

int
db_listen(struct db *db, const char *channel, struct cm_err *err)
{
	char	sql[80], **tmp, *dup;

	if (!channel_ok(channel))
		return cm_err_set(err, CM_EINVAL, channel, "bad channel name "
		    "(1 to 63 letters, digits or '_')");
	for (size_t i = 0; i < db->nchannels; i++)
		if (strcmp(db->channels[i], channel) == 0)
			return 0;
	if ((dup = strdup(channel)) == NULL)
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	tmp = reallocarray(db->channels, db->nchannels + 1, sizeof(*tmp));
	if (tmp == NULL) {
		free(dup);
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	}
	db->channels = tmp;
	snprintf(sql, sizeof(sql), "LISTEN \"%s\"", channel);
	if (db_exec(db, sql, NULL, NULL, err) == -1) {
		free(dup);
		return -1;
	}
	db->channels[db->nchannels++] = dup;
	return 0;
}

int
db_notify(struct db *db, const char *channel, const char *payload,
    struct cm_err *err)
{
	struct db_params	p;

	if (!channel_ok(channel))
		return cm_err_set(err, CM_EINVAL, channel, "bad channel name");
	db_params_init(&p);
	db_param_text(&p, channel);
	db_param_text(&p, payload != NULL ? payload : "");
	return db_exec(db, "SELECT pg_notify($1, $2)", &p, NULL, err) == -1 ?
	    -1 : 0;
}

/* Moves one notification from libpq to db->pending.  Returns 1 or 0. */
static int
take(struct db *db)
{
	if (db->pending == NULL)
		db->pending = PQnotifies(db->conn);
	return db->pending != NULL;
}

int
db_next_notification(struct db *db, struct db_notification **out,
    struct cm_err *err)
{
	struct db_notification	*n;

	if (db->pending == NULL) {
		if (db__ensure(db, err) == -1)
			return -1;
		if (!PQconsumeInput(db->conn))
			return db__lost(db, "notifications", NULL, err);
		if (!take(db))
			return 0;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->channel = strdup(db->pending->relname)) == NULL ||
	    (n->payload = strdup(db->pending->extra)) == NULL) {
		db_notification_free(n);
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	}
	n->pid = db->pending->be_pid;
	PQfreemem(db->pending);
	db->pending = NULL;
	*out = n;
	return 1;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
db_wait(struct db *db, int timeout_ms, struct cm_err *err)
{
	struct pollfd	pfd;
	int64_t		deadline = now_ms() + timeout_ms;
	int		left = timeout_ms, r;

	if (db->pending != NULL)
		return 1;
	if (db__ensure(db, err) == -1)
		return -1;
	for (;;) {
		if (!PQconsumeInput(db->conn)) {
			db__lost(db, "wait", NULL, err);
			/* Try once now, so the caller's next wait can work. */
			db__ensure(db, NULL);
			return cm_err_set(err, CM_ERETRY, "db", "connection "
			    "to PostgreSQL lost while waiting; notifications "
			    "may have been missed");
		}
		if (take(db))
			return 1;
		if (timeout_ms >= 0 && (left = deadline - now_ms()) <= 0)
			return 0;
		pfd.fd = PQsocket(db->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout_ms >= 0 ? left : -1);
		if (r == -1 && errno != EINTR)
			return cm_err_set(err, CM_EIO, "db", "poll: %s",
			    strerror(errno));
	}
}

void
db_notification_free(struct db_notification *n)
{
	if (n == NULL)
		return;
	free(n->channel);
	free(n->payload);
	free(n);
}
