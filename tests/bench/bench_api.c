/*
 * Provisioning API throughput: does the API serve more with N worker
 * threads than with one?  Starts cairnd itself (`cairnd run`, embedded
 * PostgreSQL, file-backend CA keys, EE key pool) in a scratch directory,
 * makes TA -> RIR -> m0 with 5,000 ROA configurations and one member CA per
 * client, then, once with [api] workers = 1 (the baseline) and once with N:
 *
 *   - GET /api/v1/cas/m0/roas (5,000 ROAs, ~250 kB of JSON) from C client
 *     threads for a fixed time: requests/s, p50 and p99 latency;
 *   - POST /api/v1/cas/bI/roas adding 100 new ROAs per request, each client
 *     on its own member CA (writes to different CAs may run in parallel):
 *     batches/s, p50 and p99.
 *
 * The EE key pool is filled before each measurement; key generation runs
 * on its own threads and shares the cores (docs/performance.md).
 *
 * Usage: bench_api [workers [clients [seconds [batches]]]]
 *        (defaults 4 8 5 4); CAIRND=path/to/cairnd (default: ../ca/cairnd
 *        beside this program).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api_client.h"
#include "common/cm_buf.h"
#include "common/cm_file.h"

#define MAXCLIENTS	16
#define NROAS		5000

struct bench {
	char	 dir[64], conf[128], log[128], cairnd[PATH_MAX];
	char	 url[64], token[128];
	pid_t	 pid;
	int	 clients, batches;
	double	 secs;
	int	 next[MAXCLIENTS];	/* next prefix index per member */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void	die(const char *, const char *) __attribute__((noreturn));

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench_api: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		die("cannot write %s", path);
}

static void
write_conf(struct bench *b, int workers)
{
	char	text[1024];

	snprintf(text, sizeof(text),
	    "data-dir = %s/data\n"
	    "[hsm]\nbackend = file\nkey-dir = %s/keys\nee-pool = 96\n"
	    "ee-threads = 2\n"
	    "[repository]\nrsync-base = rsync://127.0.0.1:8873/repo/\n"
	    "[engine]\ntick = 3600\n"
	    "[api]\nport = 0\nmax-body = 4M\nworkers = %d\n",
	    b->dir, b->dir, workers);
	write_file(b->conf, text);
}

/* Runs cairnd -c CONF args... to the end; its stdout into out (may be NULL). */
static int
cairnd_cmd(struct bench *b, char *const args[], struct cm_buf *out)
{
	char	*argv[8] = { "cairnd", "-c", b->conf };
	int	 fd[2], st, i;
	pid_t	 pid;
	char	 buf[4096];
	ssize_t	 n;

	for (i = 0; args[i] != NULL && i < 4; i++)
		argv[3 + i] = args[i];
	fflush(stdout);
	if (pipe(fd) == -1)
		die("%s", "pipe failed");
	if ((pid = fork()) == -1)
		die("%s", "fork failed");
	if (pid == 0) {
		int lf = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fd[1], 1);
		dup2(lf, 2);
		close(fd[0]);
		execv(b->cairnd, argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf, sizeof(buf))) > 0)
		if (out != NULL)
			cm_buf_add(out, buf, (size_t)n);
	close(fd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts `cairnd run` and waits for its API; sets b->url. */
static void
daemon_start(struct bench *b, int workers)
{
	struct cm_err	 err;
	char		*line;
	unsigned	 port;
	int		 fd, i;

	write_conf(b, workers);
	fflush(stdout);
	if ((b->pid = fork()) == -1)
		die("%s", "fork failed");
	if (b->pid == 0) {
		fd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(b->cairnd, "cairnd", "-c", b->conf, "run", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 600; i++) {
		uint8_t	*text = NULL;
		size_t	 len;

		usleep(100000);
		if (cm_file_read(b->log, 1 << 20, &text, &len, &err) == 0 &&
		    (line = strstr((char *)text, "api: listening on 127.0.0.1 "
		    "port ")) != NULL && sscanf(line + 33, "%u", &port) == 1) {
			free(text);
			snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%u",
			    port);
			return;
		}
		free(text);
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid)
			die("cairnd stopped; see %s", b->log);
	}
	die("cairnd's API did not start; see %s", b->log);
}

static void
daemon_stop(struct bench *b)
{
	kill(b->pid, SIGTERM);
	waitpid(b->pid, NULL, 0);
}

/* Sends one request; returns the status (0 when none came). */
static int
call(struct bench *b, const char *method, const char *path, const char *body,
    struct cm_buf *out)
{
	struct api_http_resp	r;
	struct cm_err		err;
	int			st;

	if (api_http_request(b->url, method, path, b->token, NULL, body, 60000,
	    &r, &err) == -1)
		return 0;
	st = r.status;
	if (out != NULL)
		cm_buf_add(out, r.body, r.len);
	api_http_resp_free(&r);
	return st;
}

/* Waits (at most 90 s) until the EE key pool is full. */
static void
pool_wait(struct bench *b)
{
	for (int i = 0; i < 900; i++) {
		struct cm_buf	 m = CM_BUF_INIT;
		const char	*t, *lv, *cap;
		long		 level = -1, capacity = 0;

		if (call(b, "GET", "/api/v1/metrics", NULL, &m) == 200 &&
		    (t = cm_buf_cstr(&m)) != NULL &&
		    (lv = strstr(t, "\ncairn_key_pool_level ")) != NULL &&
		    (cap = strstr(t, "\ncairn_key_pool_capacity ")) != NULL) {
			level = atol(lv + 22);
			capacity = atol(cap + 25);
		}
		cm_buf_free(&m);
		if (level >= capacity && capacity > 0)
			return;
		usleep(100000);
	}
	fprintf(stderr, "bench_api: the EE key pool did not fill in 90 s\n");
}

/* The 100 ROAs of the next batch of member i, as a request body. */
static void
batch_body(struct bench *b, int i, int n, struct cm_buf *out)
{
	cm_buf_puts(out, "{\"add\":[");
	for (int k = 0; k < n; k++, b->next[i]++) {
		int p = b->next[i];

		/* /26s of 10.(16 + 16i + p/1024).(p/4 % 256).(p%4 * 64)/26 */
		cm_buf_printf(out, "%s{\"asn\":%d,\"prefix\":\"10.%d.%d.%d/26\"}",
		    k == 0 ? "" : ",", 65000 + i, 16 + 16 * i + p / 1024,
		    p / 4 % 256, p % 4 * 64);
	}
	cm_buf_puts(out, "]}");
}

static void
setup(struct bench *b)
{
	struct cm_buf	 d = CM_BUF_INIT, tok = CM_BUF_INIT, body = CM_BUF_INIT;
	char		 path[160], line[160];
	char		*apply[] = { "apply", path, NULL };
	char		*token[] = { "token", "create", "--admin", "bench", NULL };
	const char	*t;
	int		 i, st;

	cm_buf_puts(&d, "ta ta as=0-4294967295 v4=0.0.0.0/0\n"
	    "ca rir ta as=64496-65535 v4=10.0.0.0/8\n"
	    "ca m0 rir as=64496-64505 v4=10.0.0.0/12\n");
	for (i = 0; i < b->clients; i++) {
		snprintf(line, sizeof(line), "ca b%d rir as=%d v4=10.%d.0.0/12\n",
		    i, 65000 + i, 16 + 16 * i);
		cm_buf_puts(&d, line);
	}
	snprintf(path, sizeof(path), "%s/repo.txt", b->dir);
	write_file(path, cm_buf_cstr(&d));
	cm_buf_free(&d);
	write_conf(b, 1);
	if (cairnd_cmd(b, apply, NULL) != 0)
		die("cairnd apply %s failed", path);
	if (cairnd_cmd(b, token, &tok) != 0 || (t = cm_buf_cstr(&tok)) == NULL ||
	    strncmp(t, "cairn_", 6) != 0)
		die("%s", "cairnd token create failed");
	snprintf(b->token, sizeof(b->token), "%.*s", (int)strcspn(t, "\n"), t);
	cm_buf_free(&tok);
	/* 5,000 /25s of 10.0.0.0/12 over 10 origin ASes: one request. */
	daemon_start(b, 1);
	cm_buf_puts(&body, "{\"add\":[");
	for (i = 0; i < NROAS; i++)
		cm_buf_printf(&body, "%s{\"asn\":%d,\"prefix\":\"10.%d.%d.%d/25\"}",
		    i == 0 ? "" : ",", 64496 + i % 10, i / 512, i / 2 % 256,
		    i % 2 * 128);
	cm_buf_puts(&body, "]}");
	if ((st = call(b, "POST", "/api/v1/cas/m0/roas", cm_buf_cstr(&body),
	    NULL)) != 200)
		die("adding the 5,000 ROAs failed (status %s)", st == 0 ?
		    "none" : "not 200");
	cm_buf_free(&body);
	daemon_stop(b);
}

/* ---- the clients ---- */

struct client {
	struct bench	*b;
	int		 id, write, n, failed;
	double		 until;
	double		*lat;
	size_t		 nlat, cap;
	pthread_t	 t;
};

static void
record(struct client *c, double secs)
{
	if (c->nlat == c->cap) {
		c->cap = c->cap == 0 ? 1024 : c->cap * 2;
		if ((c->lat = realloc(c->lat, c->cap * sizeof(*c->lat))) == NULL)
			die("%s", "out of memory");
	}
	c->lat[c->nlat++] = secs;
}

static void *
client_main(void *arg)
{
	struct client	*c = arg;
	struct cm_buf	 body = CM_BUF_INIT;
	char		 path[64];
	double		 t0;
	int		 st;

	snprintf(path, sizeof(path), "/api/v1/cas/b%d/roas", c->id);
	for (int k = 0; c->write ? k < c->n : now() < c->until; k++) {
		if (c->write) {
			cm_buf_free(&body);
			batch_body(c->b, c->id, 100, &body);
			t0 = now();
			st = call(c->b, "POST", path, cm_buf_cstr(&body), NULL);
		} else {
			t0 = now();
			st = call(c->b, "GET", "/api/v1/cas/m0/roas", NULL,
			    NULL);
		}
		record(c, now() - t0);
		if (st != 200)
			c->failed++;
	}
	cm_buf_free(&body);
	return NULL;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double	rate, p50, p99;
	size_t	n;
	int	failed;
};

/* Runs the clients (reads, or write batches) and sums them up. */
static struct result
measure(struct bench *b, int write)
{
	struct client	 c[MAXCLIENTS];
	struct result	 r;
	double		*all, t0;
	size_t		 n = 0, k;
	int		 i;

	memset(c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	t0 = now();
	for (i = 0; i < b->clients; i++) {
		c[i].b = b;
		c[i].id = i;
		c[i].write = write;
		c[i].n = b->batches;
		c[i].until = t0 + b->secs;
		if (pthread_create(&c[i].t, NULL, client_main, &c[i]) != 0)
			die("%s", "pthread_create failed");
	}
	for (i = 0; i < b->clients; i++) {
		pthread_join(c[i].t, NULL);
		n += c[i].nlat;
	}
	r.rate = (double)n / (now() - t0);
	if ((all = calloc(n + 1, sizeof(*all))) == NULL)
		die("%s", "out of memory");
	for (i = 0, k = 0; i < b->clients; i++) {
		memcpy(all + k, c[i].lat, c[i].nlat * sizeof(*all));
		k += c[i].nlat;
		r.failed += c[i].failed;
		free(c[i].lat);
	}
	qsort(all, n, sizeof(*all), cmp_dbl);
	r.n = n;
	r.p50 = n > 0 ? all[n / 2] : 0;
	r.p99 = n > 0 ? all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0;
	free(all);
	return r;
}

static void
print_result(const char *what, int workers, const struct result *r)
{
	printf("  %-24s %2d worker%s %9.1f /s   p50 %7.1f ms   p99 %7.1f ms"
	    "   (%zu requests, %d failed)\n", what, workers, workers == 1 ? " " :
	    "s", r->rate, r->p50 * 1e3, r->p99 * 1e3, r->n, r->failed);
}

int
main(int argc, char *argv[])
{
	struct bench	 b;
	struct result	 rd[2], wr[2];
	int		 w[2] = { 1, 4 }, i;
	char		 self[PATH_MAX];
	ssize_t		 n;

	memset(&b, 0, sizeof(b));
	signal(SIGPIPE, SIG_IGN);
	w[1] = argc > 1 ? atoi(argv[1]) : 4;
	b.clients = argc > 2 ? atoi(argv[2]) : 8;
	b.secs = argc > 3 ? atof(argv[3]) : 5;
	b.batches = argc > 4 ? atoi(argv[4]) : 4;
	if (w[1] < 1 || w[1] > 64 || b.clients < 1 || b.clients > MAXCLIENTS ||
	    b.secs <= 0 || b.batches < 1 || b.batches > 16) {
		fprintf(stderr, "usage: bench_api [workers(1-64) [clients(1-%d) "
		    "[seconds [batches(1-16)]]]]\n", MAXCLIENTS);
		return 2;
	}
	if (getenv("CAIRND") != NULL)
		snprintf(b.cairnd, sizeof(b.cairnd), "%s", getenv("CAIRND"));
	else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		snprintf(b.cairnd, sizeof(b.cairnd), "%s/../ca/cairnd",
		    dirname(self));
	}
	if (access(b.cairnd, X_OK) != 0)
		die("no cairnd at %s (set CAIRND)", b.cairnd);
	snprintf(b.dir, sizeof(b.dir), "/tmp/cairn-bench-api-XXXXXX");
	if (mkdtemp(b.dir) == NULL)
		die("%s", "mkdtemp failed");
	/* The embedded PostgreSQL (user cairn when we are root) enters it. */
	chmod(b.dir, 0755);
	snprintf(b.conf, sizeof(b.conf), "%s/cairnd.conf", b.dir);
	snprintf(b.log, sizeof(b.log), "%s/cairnd.log", b.dir);
	printf("bench_api: cairnd %s, %d clients, reads %.0f s, %d batches of "
	    "100 ROAs per client\n", b.cairnd, b.clients, b.secs, b.batches);
	setup(&b);
	for (i = 0; i < 2; i++) {
		daemon_start(&b, w[i]);
		pool_wait(&b);
		rd[i] = measure(&b, 0);
		print_result("GET roas (5,000)", w[i], &rd[i]);
		pool_wait(&b);
		wr[i] = measure(&b, 1);
		print_result("POST 100-ROA batch", w[i], &wr[i]);
		daemon_stop(&b);
	}
	printf("ratio %d workers / 1 worker: GET %.2fx requests/s (p99 %.2fx), "
	    "POST batch %.2fx batches/s (p99 %.2fx)\n", w[1],
	    rd[0].rate > 0 ? rd[1].rate / rd[0].rate : 0,
	    rd[0].p99 > 0 ? rd[1].p99 / rd[0].p99 : 0,
	    wr[0].rate > 0 ? wr[1].rate / wr[0].rate : 0,
	    wr[0].p99 > 0 ? wr[1].p99 / wr[0].p99 : 0);
	nftw(b.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rd[0].failed + rd[1].failed + wr[0].failed + wr[1].failed > 0;
}
