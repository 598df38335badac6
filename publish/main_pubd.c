/*
 * cairn-pubd: the publication server.
 *
 *   cairn-pubd -c CONFIG                 run (leader or replica)
 *   cairn-pubd -c CONFIG publisher-add FILE   add an RFC 8183 publisher,
 *                                        print the repository_response
 *   cairn-pubd -c CONFIG sync HANDLE DIR publish the files of DIR as the
 *                                        local publisher HANDLE
 *   cairn-pubd -c CONFIG status          session, serial, pending, held, leader
 *   cairn-pubd -c CONFIG confirm-batch   release batches held by the guard
 *   cairn-pubd -c CONFIG reset-session   start a new RRDP session
 *   cairn-pubd -c CONFIG bpki-init       create the BPKI identity files
 *
 * See docs/pubd.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "common/cm_conf.h"
#include "common/cm_http.h"
#include "common/cm_log.h"
#include "db/db.h"
#include "publish/pub_bpki.h"
#include "publish/pub_build.h"
#include "publish/pub_serve.h"
#include "publish/pub_server8181.h"
#include "publish/pub_admin.h"

/* The loaded configuration (the one allowed global, with the logger). */
static struct pub_conf	C;

static struct cm_conf_key keys[] = {
	{ "", "data-dir", CM_CONF_STR, &C.data_dir, 0, 0, 1,
	    "data directory (embedded PostgreSQL in <data-dir>/pg)" },
	{ "", "log-level", CM_CONF_STR, &C.log_level, 0, 0, 0,
	    "debug, info, warning or error" },
	{ "db", "dsn", CM_CONF_STR, &C.dsn, 0, 0, 0,
	    "libpq conninfo; empty: embedded PostgreSQL" },
	{ "rrdp", "base-uri", CM_CONF_STR, &C.rrdp_base, 0, 0, 1,
	    "https://host[:port]/path/ of the RRDP files" },
	{ "rrdp", "interval", CM_CONF_DURATION, &C.interval, 1, 3600, 0,
	    "how often the leader builds a serial (60s)" },
	{ "rrdp", "max-deltas", CM_CONF_INT, &C.max_deltas, 1, 100000, 0,
	    "most deltas listed in the notification (500)" },
	{ "rrdp", "retention", CM_CONF_DURATION, &C.retention, 0,
	    30 * 86400, 0, "files stay this long after leaving the "
	    "notification (2h)" },
	{ "rrdp", "min-history", CM_CONF_DURATION, &C.min_history, 0,
	    30 * 86400, 0, "deltas this young are always listed (4h)" },
	{ "rrdp", "leader", CM_CONF_BOOL, &C.may_lead, 0, 0, 0,
	    "no: a replica that never builds serials" },
	{ "http", "listen", CM_CONF_STR, &C.http_host, 0, 0, 0,
	    "address of the RRDP server (::)" },
	{ "http", "port", CM_CONF_INT, &C.http_port, 0, 65535, 0,
	    "port of the RRDP server (443)" },
	{ "http", "tls-cert", CM_CONF_STR, &C.http_cert, 0, 0, 0,
	    "PEM certificate chain; none: plain HTTP" },
	{ "http", "tls-key", CM_CONF_STR, &C.http_key, 0, 0, 0,
	    "PEM private key" },
	{ "http", "access-log", CM_CONF_STR, &C.access_log, 0, 0, 0,
	    "\"log\" (default: the daemon's log), \"off\", or a file path" },
	{ "http", "static-dir", CM_CONF_STR, &C.static_dir, 0, 0, 0,
	    "files served at /<name> (TA certificates)" },
	{ "rsync", "base-uri", CM_CONF_STR, &C.rsync_base, 0, 0, 1,
	    "rsync://host/module/ of the repository" },
	{ "rsync", "dir", CM_CONF_STR, &C.rsync_dir, 0, 0, 0,
	    "where the rsync tree is written (module path: <dir>/current)" },
	{ "rfc8181", "listen", CM_CONF_STR, &C.r_host, 0, 0, 0,
	    "address of the RFC 8181 server (none: disabled)" },
	{ "rfc8181", "port", CM_CONF_INT, &C.r_port, 0, 65535, 0,
	    "port of the RFC 8181 server" },
	{ "rfc8181", "tls-cert", CM_CONF_STR, &C.r_cert, 0, 0, 0,
	    "PEM certificate chain; none: plain HTTP" },
	{ "rfc8181", "tls-key", CM_CONF_STR, &C.r_key, 0, 0, 0,
	    "PEM private key" },
	{ "rfc8181", "service-uri", CM_CONF_STR, &C.service_uri, 0, 0, 0,
	    "https://host/rfc8181/ as publishers see it" },
	{ "rfc8181", "max-size", CM_CONF_SIZE, &C.max_size, 1024,
	    64LL * 1024 * 1024, 0, "largest message (32M)" },
	{ "rfc8181", "max-inflight", CM_CONF_INT, &C.max_inflight, 1, 1024,
	    0, "queries in progress before 503 (16)" },
	{ "rfc8181", "bpki-key", CM_CONF_STR, &C.bpki_key, 0, 0, 0,
	    "PEM key of the server's BPKI identity" },
	{ "rfc8181", "bpki-cert", CM_CONF_STR, &C.bpki_cert, 0, 0, 0,
	    "PEM self-signed BPKI certificate (repository_bpki_ta)" },
	{ "guard", "withdraw-share", CM_CONF_INT, &C.withdraw_pct, 0, 100, 0,
	    "percent of a publisher's or the repository's objects (10)" },
	{ "guard", "min-withdrawals", CM_CONF_INT, &C.guard_min, 0, 1000000,
	    0, "fewer withdrawals never trip the guard (10)" },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

struct daemon {
	uv_loop_t		 loop;
	uv_signal_t		 sigint, sigterm, sighup;
	struct cm_http_server	*http, *r8181;
	struct pub_server8181	*s8181;
	struct pub_serve	*serve;
	struct pub_bpki		*bpki;
	const char		*dsn;
	pthread_t		 leader, loader;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	atomic_int		 stop;
};

static void
usage(void)
{
	fprintf(stderr, "usage: cairn-pubd -c CONFIG [-d] [command]\n"
	    "commands: run (default) | publisher-add FILE | sync HANDLE DIR |\n"
	    "          status | confirm-batch | reset-session | bpki-init\n");
	exit(2);
}

static void
defaults(void)
{
	C.interval = 60;
	C.max_deltas = 500;
	C.retention = 7200;
	C.min_history = 4 * 3600;
	C.may_lead = 1;
	C.http_port = 443;
	C.max_size = 32LL * 1024 * 1024;
	C.max_inflight = 16;
	C.withdraw_pct = 10;
	C.guard_min = 10;
}

/* ---- the leader thread ---- */

static int
wait_stop(struct daemon *d, long long ms)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&d->mu);
	while (!d->stop &&
	    pthread_cond_timedwait(&d->cv, &d->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&d->mu);
	return d->stop;
}

static void *
leader_main(void *arg)
{
	struct daemon		*d = arg;
	struct pub_build_conf	 bc;
	struct pub_build	*b = NULL;
	struct pub_build_result	 res;
	struct cm_err		 err;
	struct db		*db = NULL;
	unsigned		 reconn = 0;
	int			 leading = 0, n;

	memset(&bc, 0, sizeof(bc));
	bc.rrdp_base = C.rrdp_base;
	bc.withdraw_share = C.withdraw_pct / 100.0;
	bc.guard_min = C.guard_min;
	bc.max_deltas = (size_t)C.max_deltas;
	bc.retention = C.retention;
	bc.min_history = C.min_history;
	do {
		if (db == NULL && (db = db_open(d->dsn, 10, &err)) == NULL) {
			cm_error("leader: %s", err.msg);
			continue;
		}
		/* A new connection lost the session-level lock. */
		if (leading && db_reconnects(db) != reconn) {
			cm_warn("leader: connection lost, leadership with it");
			leading = 0;
		}
		if (!leading) {
			if ((n = pub_build_try_lead(db, &err)) == -1) {
				cm_error("leader: %s", err.msg);
				continue;
			}
			if (n == 0)
				continue;
			reconn = db_reconnects(db);
			pub_build_free(b);
			if ((b = pub_build_new(&bc, &err)) == NULL ||
			    pub_build_start_worker(b, d->dsn, &err) == -1) {
				cm_error("leader: %s", err.msg);
				break;
			}
			leading = 1;
			cm_info("leader: this process builds the RRDP serials");
		}
		if (pub_build_step(b, db, &res, &err) == -1)
			cm_error("leader: %s", err.msg);
		else if (res.serial > 0)
			cm_info("leader: serial %" PRIu64 " built in %.1f ms",
			    res.serial, res.build_ms);
	} while (!wait_stop(d, C.interval * 1000));
	pub_build_free(b);
	db_close(db);
	return NULL;
}

/* ---- the loader thread: files into memory, rsync tree ---- */

static void
load_once(struct daemon *d, struct db *db)
{
	struct cm_err	err;
	uint64_t	serial;
	int		changed;

	if (pub_serve_load(d->serve, db, &serial, &changed, &err) == -1) {
		cm_error("loader: %s", err.msg);
		return;
	}
	if (!changed)
		return;
	cm_info("serving RRDP serial %" PRIu64, serial);
	if (C.rsync_dir != NULL && pub_serve_rsync(d->serve, db, C.rsync_dir,
	    C.rsync_base, time(NULL), &err) == -1)
		cm_error("rsync: %s", err.msg);
}

static void *
loader_main(void *arg)
{
	struct daemon		*d = arg;
	struct db_notification	*n;
	struct cm_err		 err;
	struct db		*db = NULL;
	long long		 waited = 0, step;
	int			 got;

	step = C.interval * 1000 < 1000 ? C.interval * 1000 : 1000;
	while (!d->stop) {
		if (db == NULL) {
			if ((db = db_open(d->dsn, 10, &err)) == NULL ||
			    db_listen(db, PUB_RRDP_CHANNEL, &err) == -1) {
				cm_error("loader: %s", err.msg);
				db_close(db);
				db = NULL;
				wait_stop(d, 1000);
				continue;
			}
			load_once(d, db);
		}
		got = db_wait(db, (int)step, &err);
		if (got == -1) {
			cm_error("loader: %s", err.msg);
			wait_stop(d, 1000);
			continue;
		}
		waited += step;
		got = 0;
		while (db_next_notification(db, &n, &err) == 1) {
			db_notification_free(n);
			got = 1;
		}
		/* Also poll: a notification sent while reconnecting is lost. */
		if (got || waited >= C.interval * 1000) {
			waited = 0;
			load_once(d, db);
		}
	}
	db_close(db);
	return NULL;
}

/* ---- the event loop ---- */

static void
on_signal(uv_signal_t *h, int signum)
{
	struct daemon	*d = h->data;

	cm_info("signal %d: shutting down", signum);
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	cm_http_server_shutdown(d->http, NULL, NULL);
	if (d->r8181 != NULL)
		cm_http_server_shutdown(d->r8181, NULL, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

/* Reloads one server's certificate and reopens its access log. */
static int
reload_server(struct cm_http_server *srv, const char *name)
{
	struct cm_err	err;
	int		rc = 0;

	if (srv == NULL)
		return 0;
	if (cm_http_server_reopen_log(srv, &err) == -1) {
		cm_error("reload: %s access log: %s", name, err.msg);
		rc = -1;
	}
	if (cm_http_server_reload_tls(srv, &err) == -1) {
		cm_error("reload: %s TLS: %s; the old certificate stays in "
		    "use", name, err.msg);
		rc = -1;
	}
	return rc;
}

/*
 * SIGHUP: the static files, the TLS certificates and the access logs are
 * read again.  It runs on the loop thread, the only one that serves, and
 * what fails to load leaves the state served before in place.
 */
static void
on_sighup(uv_signal_t *h, int signum)
{
	struct daemon	*d = h->data;
	struct cm_err	 err;
	int		 n, rc = 0;

	(void)signum;
	cm_info("SIGHUP: reloading");
	if (C.static_dir != NULL) {
		if ((n = pub_serve_static_dir(d->serve, C.static_dir,
		    &err)) == -1) {
			cm_error("reload: static-dir: %s; the files served "
			    "before stay", err.msg);
			rc = -1;
		} else
			cm_info("reload: %d static files from %s", n,
			    C.static_dir);
	}
	rc |= reload_server(d->http, "RRDP");
	rc |= reload_server(d->r8181, "RFC 8181");
	cm_info("SIGHUP: reload %s", rc == 0 ? "done" : "failed in part");
}

static int
start_servers(struct daemon *d, struct cm_err *err)
{
	struct cm_http_config		hc;
	struct pub_server8181_conf	rc;

	memset(&hc, 0, sizeof(hc));
	hc.host = C.http_host;
	hc.port = (uint16_t)C.http_port;
	hc.tls_cert_file = C.http_cert;
	hc.tls_key_file = C.http_key;
	hc.server_name = "cairn-pubd";
	hc.handler = pub_serve_handle;
	hc.handler_arg = d->serve;
	if (C.access_log != NULL && strcmp(C.access_log, "off") == 0)
		hc.access_log = CM_HTTP_ALOG_OFF;
	else if (C.access_log != NULL && strcmp(C.access_log, "log") != 0) {
		hc.access_log = CM_HTTP_ALOG_FILE;
		hc.access_log_path = C.access_log;
	}
	hc.handler_flags = CM_HTTP_NO_QUERY;
	hc.max_body = 1;
	if ((d->http = cm_http_server_new(&d->loop, &hc, err)) == NULL)
		return cm_err_wrap(err, "RRDP HTTP server");
	cm_info("RRDP: serving %s on port %u", C.rrdp_base,
	    cm_http_server_port(d->http));
	if (C.r_host == NULL)
		return 0;
	if (C.bpki_key == NULL || C.bpki_cert == NULL)
		return cm_err_set(err, CM_EINVAL, "rfc8181", "bpki-key and "
		    "bpki-cert are required with listen");
	if ((d->bpki = pub_bpki_load(C.bpki_key, C.bpki_cert, err)) == NULL)
		return -1;
	memset(&rc, 0, sizeof(rc));
	rc.dsn = d->dsn;
	rc.prefix = "/rfc8181/";
	rc.bpki = d->bpki;
	rc.max_inflight = (unsigned)C.max_inflight;
	if ((d->s8181 = pub_server8181_new(&d->loop, &rc, err)) == NULL)
		return -1;
	memset(&hc, 0, sizeof(hc));
	hc.host = C.r_host;
	hc.port = (uint16_t)C.r_port;
	hc.tls_cert_file = C.r_cert;
	hc.tls_key_file = C.r_key;
	hc.server_name = "cairn-pubd";
	hc.handler = pub_server8181_handle;
	hc.handler_arg = d->s8181;
	hc.handler_flags = CM_HTTP_NO_QUERY;
	hc.max_body = (size_t)C.max_size;
	if ((d->r8181 = cm_http_server_new(&d->loop, &hc, err)) == NULL)
		return cm_err_wrap(err, "RFC 8181 server");
	cm_info("RFC 8181: listening on port %u",
	    cm_http_server_port(d->r8181));
	return 0;
}

static int
run_daemon(const char *dsn, struct db *db)
{
	struct daemon	d;
	struct cm_err	err;
	int		rc = 1, threads = 0, sigs = 0;

	memset(&d, 0, sizeof(d));
	d.dsn = dsn;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	uv_loop_init(&d.loop);
	if ((d.serve = pub_serve_new(C.rrdp_base, &err)) == NULL ||
	    (C.static_dir != NULL &&
	    pub_serve_static_dir(d.serve, C.static_dir, &err) == -1)) {
		cm_error("%s", err.msg);
		goto out;
	}
	if (pub_serve_load(d.serve, db, NULL, NULL, &err) == -1)
		cm_warn("initial load: %s", err.msg);
	if (start_servers(&d, &err) == -1) {
		cm_error("%s", err.msg);
		goto out;
	}
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigint.data = d.sigterm.data = d.sighup.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);
	sigs = 1;
	if (pthread_create(&d.loader, NULL, loader_main, &d) != 0)
		goto out;
	threads = 1;
	if (C.may_lead) {
		if (pthread_create(&d.leader, NULL, leader_main, &d) != 0)
			goto out;
		threads = 2;
	}
	cm_info("cairn-pubd running (%s)", C.may_lead ? "may lead" :
	    "replica only");
	uv_run(&d.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	pthread_mutex_lock(&d.mu);
	d.stop = 1;
	pthread_cond_broadcast(&d.cv);
	pthread_mutex_unlock(&d.mu);
	if (threads >= 1)
		pthread_join(d.loader, NULL);
	if (threads >= 2)
		pthread_join(d.leader, NULL);
	if (rc != 0) {
		if (d.http != NULL)
			cm_http_server_shutdown(d.http, NULL, NULL);
		if (d.r8181 != NULL)
			cm_http_server_shutdown(d.r8181, NULL, NULL);
		/* Open signal handles would keep this uv_run() going. */
		if (sigs) {
			uv_close((uv_handle_t *)&d.sigint, NULL);
			uv_close((uv_handle_t *)&d.sigterm, NULL);
			uv_close((uv_handle_t *)&d.sighup, NULL);
		}
		uv_run(&d.loop, UV_RUN_DEFAULT);
	}
	cm_http_server_free(d.http);
	cm_http_server_free(d.r8181);
	pub_server8181_free(d.s8181);
	pub_bpki_free(d.bpki);
	pub_serve_free(d.serve);
	uv_loop_close(&d.loop);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct db_options	 opt;
	struct db_embedded	*emb = NULL;
	struct cm_err		 err;
	struct db		*db = NULL;
	const char		*conf = NULL, *dsn, *cmd;
	enum cm_loglevel	 lvl = CM_LOG_INFO;
	int			 ch, debug = 0, rc = 1;

	while ((ch = getopt(argc, argv, "c:d")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (conf == NULL)
		usage();
	cmd = argc > 0 ? argv[0] : "run";
	defaults();
	cm_log_init("cairn-pubd", CM_LOG_INFO);
	/* A client that hangs up mid-response must not end the process. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A reload (SIGHUP) sent while the daemon starts (the database can
	 * take a while) must not end it; the loop's handler takes over.
	 */
	if (strcmp(cmd, "run") == 0)
		signal(SIGHUP, SIG_IGN);
	if (cm_conf_load(conf, keys, NKEYS, &err) == -1) {
		cm_error("%s", err.msg);
		goto out;
	}
	if (C.log_level != NULL && cm_log_parse_level(C.log_level, &lvl) == -1) {
		cm_error("%s: log-level \"%s\" is not debug, info, warning or "
		    "error", conf, C.log_level);
		goto out;
	}
	cm_log_init("cairn-pubd", debug ? CM_LOG_DEBUG : lvl);
	if (strcmp(cmd, "bpki-init") == 0) {
		rc = pub_admin_bpki_init(&C);
		goto out;
	}
	if (C.dsn == NULL || C.dsn[0] == '\0') {
		memset(&opt, 0, sizeof(opt));
		opt.data_dir = C.data_dir;
		if (db_embedded_start(&opt, &emb, &err) == -1) {
			cm_error("embedded PostgreSQL: %s", err.msg);
			goto out;
		}
		dsn = db_embedded_dsn(emb);
	} else
		dsn = C.dsn;
	if ((db = db_open(dsn, 10, &err)) == NULL) {
		cm_error("database: %s", err.msg);
		goto out;
	}
	if (db_migrate(db, &err) == -1) {
		cm_error("database schema: %s", err.msg);
		goto out;
	}
	if (strcmp(cmd, "run") == 0 && argc <= 1) {
		/* It serves the Internet: it should not hold root's rights. */
		if (geteuid() == 0)
			cm_warn("running as root; run cairn-pubd as an "
			    "unprivileged user (deploy/systemd/cairn-pubd.service)");
		rc = run_daemon(dsn, db);
	}
	else
		rc = pub_admin_run(&C, db, argc, argv);
out:
	db_close(db);
	/*
	 * Stop the embedded cluster only if this process started it: another
	 * process of the data directory (cairnd, a command) may be using it.
	 */
	if (emb != NULL && db_embedded_started(emb)) {
		if (db_embedded_stop(emb, &err) == -1)
			cm_error("embedded PostgreSQL stop: %s", err.msg);
	} else
		db_embedded_free(emb);
	cm_conf_free_strings(keys, NKEYS);
	return rc;
}
