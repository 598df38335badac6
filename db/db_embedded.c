/*
 * The embedded PostgreSQL cluster: a daemon whose configuration names no
 * DSN runs its own cluster in <data-dir>/pg, reachable only through a unix
 * socket in <data-dir>/pg/run (mode 0700), with Debian's server binaries
 * (/usr/lib/postgresql/<version>/bin; PATH is not used: /usr/local/bin may
 * hold wrappers).
 *
 *   <data-dir>/pg/data        the cluster (initdb), owned by the pg user
 *   <data-dir>/pg/run         the socket directory
 *   <data-dir>/pg/postgres.log  the server's log
 *   <data-dir>/pg/pg_ctl.log  output of the last initdb / pg_ctl
 *
 * PostgreSQL refuses to run as root: a root process runs initdb and pg_ctl
 * in a child that has switched to the unprivileged user (default "cairn").
 */
#include "db/db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cm_file.h"
#include "common/cm_log.h"

#define PG_LIBDIR	"/usr/lib/postgresql"
#define PG_PORT		"5432"
#define PG_SOCKNAME	"/.s.PGSQL." PG_PORT
#define PG_WAIT		"60"	/* seconds pg_ctl waits for start/stop */

struct db_embedded {
	char	pgdir[PATH_MAX];
	char	pgdata[PATH_MAX];
	char	rundir[PATH_MAX];
	char	bindir[PATH_MAX];
	char	log[PATH_MAX];		/* server log */
	char	ctllog[PATH_MAX];	/* initdb / pg_ctl output */
	char	dsn[2 * PATH_MAX];
	int	drop;			/* switch to uid/gid in children */
	uid_t	uid;
	gid_t	gid;
	char	user[64];
	int	timeout;
	int	started;		/* this handle started the server */
};

/* Newest /usr/lib/postgresql/<v>/bin that has initdb and pg_ctl. */
static int
find_bindir(char *out, size_t len, struct cm_err *err)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	long		 best = -1, v;
	char		*end;

	if ((d = opendir(PG_LIBDIR)) == NULL)
		return cm_err_set(err, CM_EIO, PG_LIBDIR, "no PostgreSQL server "
		    "binaries (%s); install the postgresql package "
		    "(deploy/install-deps.sh)", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		v = strtol(de->d_name, &end, 10);
		if (end == de->d_name || *end != '\0' || v <= best)
			continue;
		snprintf(path, sizeof(path), PG_LIBDIR "/%s/bin/pg_ctl",
		    de->d_name);
		if (access(path, X_OK) != 0)
			continue;
		snprintf(path, sizeof(path), PG_LIBDIR "/%s/bin/initdb",
		    de->d_name);
		if (access(path, X_OK) != 0)
			continue;
		best = v;
	}
	closedir(d);
	if (best < 0)
		return cm_err_set(err, CM_EIO, PG_LIBDIR, "no <version>/bin with "
		    "initdb and pg_ctl; install the postgresql package");
	snprintf(out, len, PG_LIBDIR "/%ld/bin", best);
	return 0;
}

/*
 * The binaries for an existing cluster are those of the major version that
 * created it (PG_VERSION): a newer server refuses the data directory, and
 * moving to it is an explicit pg_upgrade.  A new cluster takes the newest.
 */
static int
cluster_bindir(struct db_embedded *e, struct cm_err *err)
{
	char	path[PATH_MAX + 16], ver[16] = "";
	FILE	*f;
	size_t	n;

	snprintf(path, sizeof(path), "%s/PG_VERSION", e->pgdata);
	if ((f = fopen(path, "r")) == NULL)
		return find_bindir(e->bindir, sizeof(e->bindir), err);
	n = fread(ver, 1, sizeof(ver) - 1, f);
	fclose(f);
	ver[n] = '\0';
	ver[strcspn(ver, "\n")] = '\0';
	if (ver[0] == '\0' || strspn(ver, "0123456789") != strlen(ver))
		return cm_err_set(err, CM_EINVAL, path, "not a PostgreSQL major "
		    "version: \"%s\"", ver);
	snprintf(e->bindir, sizeof(e->bindir), PG_LIBDIR "/%s/bin", ver);
	snprintf(path, sizeof(path), "%s/pg_ctl", e->bindir);
	if (access(path, X_OK) != 0)
		return cm_err_set(err, CM_EIO, e->pgdata, "cluster created by "
		    "PostgreSQL %s, whose server binaries (%s) are missing: "
		    "install postgresql-%s, or move the cluster to the newer "
		    "version with pg_upgrade", ver, e->bindir, ver);
	return 0;
}

/*
 * What a log says went wrong, on one line, into buf: the last lines of its
 * final 4 KB that hold FATAL, PANIC or ERROR, or else its last 400 bytes.
 */
static void
log_tail(const char *path, char *buf, size_t len)
{
	char	tmp[4096], *line, *save, *hits[2] = { NULL, NULL };
	ssize_t	n;
	off_t	size;
	int	fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(tmp) - 1)
		lseek(fd, size - (off_t)sizeof(tmp) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, tmp, sizeof(tmp) - 1);
	close(fd);
	if (n <= 0)
		return;
	tmp[n] = '\0';
	if (n > 400)
		snprintf(buf, len, "%s", tmp + n - 400);
	else
		snprintf(buf, len, "%s", tmp);
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	for (line = strtok_r(tmp, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "FATAL:") != NULL ||
		    strstr(line, "PANIC:") != NULL ||
		    strstr(line, "ERROR:") != NULL) {
			hits[0] = hits[1];
			hits[1] = line;
		}
	if (hits[1] != NULL)
		snprintf(buf, len, "%s%s%s", hits[0] != NULL ? hits[0] : "",
		    hits[0] != NULL ? " | " : "", hits[1]);
}

/*
 * Runs argv (argv[0] a file in the bin dir) as the PostgreSQL user with
 * output to e->ctllog, and waits.  Returns 0 if it exited with 0, or -1
 * with err quoting the logs.
 */
static int
run(struct db_embedded *e, const char *what, char *const argv[],
    struct cm_err *err)
{
	char	path[PATH_MAX], tail[450], stail[450];
	pid_t	pid;
	int	status, fd;

	snprintf(path, sizeof(path), "%s/%s", e->bindir, argv[0]);
	if ((pid = fork()) == -1)
		return cm_err_set(err, CM_EIO, what, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Only async-signal-safe calls from here to execv. */
		if (e->drop && (setgroups(1, &e->gid) == -1 ||
		    setgid(e->gid) == -1 || setuid(e->uid) == -1))
			_exit(125);
		fd = open(e->ctllog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1)
			_exit(124);
		dup2(fd, 1);
		dup2(fd, 2);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		/* The server must not inherit our sockets and files. */
		close_range(3, ~0U, 0);
		if (chdir(e->pgdir) == -1) {
			static const char m[] = "cannot enter the PostgreSQL "
			    "directory as its user: the data directory and "
			    "its parents must be searchable by that user\n";
			(void)!write(2, m, sizeof(m) - 1);
			_exit(126);
		}
		execv(path, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return cm_err_set(err, CM_EIO, what, "waitpid: %s",
			    strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_tail(e->ctllog, tail, sizeof(tail));
	log_tail(e->log, stail, sizeof(stail));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
		return cm_err_set(err, CM_EPERM, what, "cannot switch to user "
		    "%s", e->user);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
		return cm_err_set(err, CM_EPERM, e->ctllog, "cannot be written "
		    "by user %s", e->user);
	return cm_err_set(err, CM_EIO, what, "%s failed (%s %d): %s%s%s",
	    argv[0], WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail,
	    stail[0] != '\0' ? " | server log: " : "", stail);
}

/* Which user runs PostgreSQL: ourselves, or pg_user when we are root. */
static int
pick_user(struct db_embedded *e, const char *name, struct cm_err *err)
{
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	if (geteuid() != 0) {
		e->drop = 0;
		e->uid = geteuid();
		e->gid = getegid();
		return 0;
	}
	if (name == NULL || *name == '\0')
		name = "cairn";
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return cm_err_set(err, CM_EPERM, name, "PostgreSQL refuses to "
		    "run as root and this user, which should run it, does not "
		    "exist: create it (deploy/install-deps.sh) or run the "
		    "daemon as an unprivileged user");
	if (pw.pw_uid == 0)
		return cm_err_set(err, CM_EPERM, name, "has uid 0: PostgreSQL "
		    "must not run as root");
	e->drop = 1;
	e->uid = pw.pw_uid;
	e->gid = pw.pw_gid;
	snprintf(e->user, sizeof(e->user), "%s", name);
	return 0;
}

/* mkdir (if needed) owned by the PostgreSQL user, mode 0700. */
static int
own_dir(struct db_embedded *e, const char *path, struct cm_err *err)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return cm_err_set(err, CM_EIO, path, "mkdir: %s", strerror(errno));
	if (e->drop && chown(path, e->uid, e->gid) == -1)
		return cm_err_set(err, CM_EIO, path, "chown to %s: %s", e->user,
		    strerror(errno));
	if (chmod(path, 0700) == -1)
		return cm_err_set(err, CM_EIO, path, "chmod: %s", strerror(errno));
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

/* Creates the cluster with initdb in a scratch directory, then renames it. */
static int
init_cluster(struct db_embedded *e, struct cm_err *err)
{
	char	tmp[PATH_MAX + 8], conf[PATH_MAX + 32], *argv[16];
	FILE	*f;
	int	 i = 0;

	snprintf(tmp, sizeof(tmp), "%s.init", e->pgdata);
	/* Leftover of an interrupted initdb: ours, never a real cluster. */
	if (access(tmp, F_OK) == 0 && nftw(tmp, rm_entry, 16,
	    FTW_DEPTH | FTW_PHYS) == -1)
		return cm_err_set(err, CM_EIO, tmp, "cannot remove: %s",
		    strerror(errno));
	cm_info("%s: creating the PostgreSQL cluster", e->pgdata);
	argv[i++] = "initdb";
	argv[i++] = "-D";
	argv[i++] = tmp;
	argv[i++] = "-U";
	argv[i++] = "cairn";
	argv[i++] = "-E";
	argv[i++] = "UTF8";
	argv[i++] = "--no-locale";
	/* Only the socket, in a directory only the owner can enter. */
	argv[i++] = "--auth-local=trust";
	argv[i++] = "--auth-host=reject";
	argv[i++] = "--no-instructions";
	argv[i++] = NULL;
	if (run(e, e->pgdata, argv, err) == -1)
		return -1;
	snprintf(conf, sizeof(conf), "%s/postgresql.conf", tmp);
	if ((f = fopen(conf, "a")) == NULL)
		return cm_err_set(err, CM_EIO, conf, "%s", strerror(errno));
	fprintf(f, "\n# Cairn rewrites cairn.conf at every start.\n"
	    "include_if_exists = 'cairn.conf'\n");
	if (fclose(f) == EOF)
		return cm_err_set(err, CM_EIO, conf, "%s", strerror(errno));
	if (rename(tmp, e->pgdata) == -1)
		return cm_err_set(err, CM_EIO, e->pgdata, "rename: %s",
		    strerror(errno));
	return 0;
}

/* Writes s into f as a postgresql.conf string literal. */
static void
conf_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			fputc(*s, f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* The settings that keep the server private, rewritten at every start. */
static int
write_conf(struct db_embedded *e, struct cm_err *err)
{
	char	path[PATH_MAX + 16];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/cairn.conf", e->pgdata);
	if ((f = fopen(path, "w")) == NULL)
		return cm_err_set(err, CM_EIO, path, "%s", strerror(errno));
	fprintf(f, "# Written by Cairn at every start; put your own settings "
	    "in postgresql.conf\n# before the include line, or use ALTER "
	    "SYSTEM.\nlisten_addresses = ''\nport = " PG_PORT "\n"
	    "unix_socket_permissions = 0700\nunix_socket_directories = ");
	conf_quote(f, e->rundir);
	fputc('\n', f);
	if (fclose(f) == EOF)
		return cm_err_set(err, CM_EIO, path, "%s", strerror(errno));
	if (e->drop && chown(path, e->uid, e->gid) == -1)
		return cm_err_set(err, CM_EIO, path, "chown: %s", strerror(errno));
	return 0;
}

/*
 * Looks at postmaster.pid.  Returns 1 when our server is running (its pid
 * is alive and its working directory is our data directory), 0 otherwise;
 * a stale file (dead pid, or a pid now used by another program) is removed.
 */
static int
check_pidfile(struct db_embedded *e)
{
	char	path[PATH_MAX + 32], link[PATH_MAX], cwd[PATH_MAX];
	FILE	*f;
	long	pid = 0;
	ssize_t	n;

	snprintf(path, sizeof(path), "%s/postmaster.pid", e->pgdata);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid > 0 && kill((pid_t)pid, 0) == 0) {
		snprintf(link, sizeof(link), "/proc/%ld/cwd", pid);
		n = readlink(link, cwd, sizeof(cwd) - 1);
		if (n > 0) {
			cwd[n] = '\0';
			if (realpath(e->pgdata, link) != NULL &&
			    strcmp(cwd, link) == 0)
				return 1;
		}
	}
	cm_warn("%s: removing stale postmaster.pid (pid %ld is gone): the "
	    "server was not shut down cleanly", e->pgdata, pid);
	unlink(path);
	return 0;
}

/* libpq conninfo value in single quotes. */
static void
dsn_quote(char *out, size_t len, const char *s)
{
	size_t	n = 0;

	if (len < 3)
		return;
	out[n++] = '\'';
	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '\'' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '\'';
	out[n] = '\0';
}

static int
pg_ctl(struct db_embedded *e, const char *action, struct cm_err *err)
{
	char	*argv[] = { "pg_ctl", "-D", e->pgdata, "-l", e->log, "-m",
		    "fast", "-w", "-t", PG_WAIT, "-s", (char *)action, NULL };

	return run(e, e->pgdata, argv, err);
}

/* Starts the server; after a crash, leftover backends may hold on briefly. */
static int
start_server(struct db_embedded *e, struct cm_err *err)
{
	struct cm_err	e2;

	for (int attempt = 0; ; attempt++) {
		if (pg_ctl(e, "start", &e2) == 0)
			return 0;
		if (attempt == 3 || (strstr(e2.msg, "still in use") == NULL &&
		    strstr(e2.msg, "lock file") == NULL)) {
			if (err != NULL)
				*err = e2;
			return -1;
		}
		cm_warn("%s: waiting for processes of a crashed server to exit",
		    e->pgdata);
		sleep(2);
		check_pidfile(e);
	}
}

/* Creates the database "cairn" if it is missing. */
static int
create_db(struct db_embedded *e, struct cm_err *err)
{
	char		 dsn[sizeof(e->dsn)], q[PATH_MAX + 8];
	struct db	*db;
	int		 n;

	dsn_quote(q, sizeof(q), e->rundir);
	snprintf(dsn, sizeof(dsn), "host=%s port=" PG_PORT " user=cairn "
	    "dbname=postgres", q);
	if ((db = db_open(dsn, e->timeout, err)) == NULL)
		return -1;
	n = db_exec(db, "SELECT 1 FROM pg_database WHERE datname = 'cairn'",
	    NULL, NULL, err);
	if (n == 0 && db_exec(db, "CREATE DATABASE cairn", NULL, NULL, err) ==
	    -1 && strcmp(db_sqlstate(db), "42P04") != 0)
		n = -1;
	db_close(db);
	return n == -1 ? -1 : 0;
}

/* Fills the paths of e from the options; checks the socket path length. */
static int
set_paths(struct db_embedded *e, const struct db_options *opt,
    struct cm_err *err)
{
	struct sockaddr_un	sun;
	char			dir[PATH_MAX];

	if (opt->data_dir == NULL || *opt->data_dir == '\0')
		return cm_err_set(err, CM_EINVAL, "db", "no data directory for "
		    "the embedded PostgreSQL (and no DSN)");
	if (cm_mkdirs(opt->data_dir, 0755, err) == -1)
		return -1;
	if (realpath(opt->data_dir, dir) == NULL)
		return cm_err_set(err, CM_EIO, opt->data_dir, "%s",
		    strerror(errno));
	snprintf(e->pgdir, sizeof(e->pgdir), "%s/pg", dir);
	snprintf(e->pgdata, sizeof(e->pgdata), "%s/data", e->pgdir);
	snprintf(e->rundir, sizeof(e->rundir), "%s/run", e->pgdir);
	snprintf(e->log, sizeof(e->log), "%s/postgres.log", e->pgdir);
	snprintf(e->ctllog, sizeof(e->ctllog), "%s/pg_ctl.log", e->pgdir);
	if (strlen(e->rundir) + strlen(PG_SOCKNAME) >= sizeof(sun.sun_path))
		return cm_err_set(err, CM_EINVAL, e->rundir, "socket path "
		    "%s" PG_SOCKNAME " is longer than the %zu bytes unix sockets "
		    "allow; choose a shorter data directory", e->rundir,
		    sizeof(sun.sun_path) - 1);
	e->timeout = opt->connect_timeout > 0 ? opt->connect_timeout : 10;
	if (opt->pg_bindir != NULL && *opt->pg_bindir != '\0') {
		snprintf(e->bindir, sizeof(e->bindir), "%s", opt->pg_bindir);
		return 0;
	}
	return cluster_bindir(e, err);
}

int
db_embedded_start(const struct db_options *opt, struct db_embedded **out,
    struct cm_err *err)
{
	struct db_embedded	*e;
	char			 path[PATH_MAX + 16], q[PATH_MAX + 8];
	int			 started = 0, lock = -1;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	snprintf(e->user, sizeof(e->user), "%s", "(self)");
	if (set_paths(e, opt, err) == -1 || pick_user(e, opt->pg_user, err) ==
	    -1 || own_dir(e, e->pgdir, err) == -1 ||
	    own_dir(e, e->rundir, err) == -1)
		goto fail;
	/* Two processes starting on one directory take turns. */
	snprintf(path, sizeof(path), "%s/start.lock", e->pgdir);
	if ((lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(lock, LOCK_EX) == -1) {
		cm_err_set(err, CM_EIO, path, "%s", strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/PG_VERSION", e->pgdata);
	if (access(path, F_OK) != 0 && init_cluster(e, err) == -1)
		goto fail;
	if (write_conf(e, err) == -1)
		goto fail;
	if (check_pidfile(e))
		cm_info("%s: PostgreSQL already running, using it", e->pgdata);
	else if (start_server(e, err) == -1)
		goto fail;
	else
		started = e->started = 1;
	if (create_db(e, err) == -1)
		goto fail;
	dsn_quote(q, sizeof(q), e->rundir);
	snprintf(e->dsn, sizeof(e->dsn), "host=%s port=" PG_PORT " user=cairn "
	    "dbname=cairn", q);
	*out = e;
	close(lock);
	return 0;
 fail:
	cm_err_wrap(err, "embedded PostgreSQL");
	if (started)
		pg_ctl(e, "stop", NULL);
	if (lock != -1)
		close(lock);
	free(e);
	return -1;
}

int
db_embedded_started(const struct db_embedded *e)
{
	return e->started;
}

const char *
db_embedded_dsn(const struct db_embedded *e)
{
	return e->dsn;
}

const char *
db_embedded_pgdata(const struct db_embedded *e)
{
	return e->pgdata;
}

int
db_embedded_ctl(struct db_embedded *e, const char *action,
    struct cm_err *err)
{
	return pg_ctl(e, action, err);
}

void
db_embedded_free(struct db_embedded *e)
{
	free(e);
}

int
db_embedded_stop(struct db_embedded *e, struct cm_err *err)
{
	int	rc;

	if (e == NULL)
		return 0;
	rc = pg_ctl(e, "stop", err);
	free(e);
	return rc;
}
