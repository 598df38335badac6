/*
 * HTTP server throughput: requests per second for a small cached file over
 * keep-alive connections, Cairn's server core against nginx (Debian
 * nginx-light) serving the same file from a temporary directory, both
 * measured in this run with wrk on the loopback interface.
 *
 * Both servers get one thread (one libuv loop; one nginx worker), access
 * logs off; nginx keeps the file's descriptor cached (open_file_cache) and
 * answers with sendfile.  Two rounds: identity, and with "Accept-Encoding: gzip" (Cairn
 * sends its precomputed gzip; nginx compresses per request with gzip on,
 * level 1, as it would without a precompressed file).
 *
 * Usage: bench_http [seconds-per-run [connections]]   (defaults 6 and 32)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "common/cm_http.h"
#include "common/cm_http_file.h"

#define FILE_SIZE	1200	/* about a small notification.xml */

struct bsrv {
	uv_loop_t		 loop;
	struct cm_http_server	*srv;
	struct cm_http_file	*file;
	pthread_t		 thr;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	int			 ready;
	uint16_t		 port;
};

static void
handler(struct cm_http_req *req, void *arg)
{
	struct bsrv	*b = arg;

	if (strcmp(req->path, "/notification.xml") == 0)
		cm_http_file_respond(req, b->file);
	else
		cm_http_respond_status(req, 404);
}

static void *
server_main(void *arg)
{
	struct bsrv		*b = arg;
	struct cm_http_config	 cfg = { 0 };
	struct cm_err		 err;

	cfg.host = "127.0.0.1";
	cfg.access_log = CM_HTTP_ALOG_OFF;
	cfg.handler = handler;
	cfg.handler_arg = b;
	cfg.max_connections = 4096;
	uv_loop_init(&b->loop);
	if ((b->srv = cm_http_server_new(&b->loop, &cfg, &err)) == NULL) {
		fprintf(stderr, "bench_http: %s\n", err.msg);
		exit(1);
	}
	pthread_mutex_lock(&b->mtx);
	b->port = cm_http_server_port(b->srv);
	b->ready = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mtx);
	uv_run(&b->loop, UV_RUN_DEFAULT);
	cm_http_server_free(b->srv);
	uv_loop_close(&b->loop);
	return NULL;
}

static uint8_t *
content(void)
{
	uint8_t	*p = malloc(FILE_SIZE);
	size_t	 n = 0;

	n += (size_t)snprintf((char *)p, FILE_SIZE, "<notification xmlns="
	    "\"http://www.ripe.net/rpki/rrdp\" version=\"1\" session_id="
	    "\"fe528335-db5f-48b2-be7e-bf0992d0b5ec\" serial=\"1775\">\n");
	for (int i = 0; n + 200 < FILE_SIZE; i++)
		n += (size_t)snprintf((char *)p + n, FILE_SIZE - n,
		    "  <delta serial=\"%d\" uri=\"https://rrdp.example.net/"
		    "fe52/%d/77ab%04x/delta.xml\" hash=\"d199%060x\"/>\n",
		    1775 - i, 1775 - i, i * 7919, i * 104729);
	memset(p + n, ' ', FILE_SIZE - n - 16);
	memcpy(p + FILE_SIZE - 16, "</notification>\n", 16);
	return p;
}

static int
free_port(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);
	int			fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
port_open(int port)
{
	struct sockaddr_in	sa;
	int			fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int
have(const char *prog)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

static const char *
nginx_path(void)
{
	if (access("/usr/sbin/nginx", X_OK) == 0)
		return "/usr/sbin/nginx";
	return have("nginx") ? "nginx" : NULL;
}

/* Starts nginx serving dir on port; returns its pid or -1. */
static pid_t
nginx_start(const char *nginx, const char *dir, int port)
{
	char	conf[512];
	FILE	*f;
	pid_t	 pid;

	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f,
	    "daemon off;\nmaster_process on;\nworker_processes 1;\n"
	    "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n%s"
	    "events { worker_connections 4096; }\n"
	    "http {\n access_log off;\n sendfile on;\n tcp_nodelay on;\n"
	    " keepalive_requests 1000000;\n keepalive_timeout 60s;\n"
	    " open_file_cache max=64 inactive=60s;\n"
	    " open_file_cache_valid 60s;\n"
	    " default_type application/octet-stream;\n"
	    " types { application/xml xml; }\n"
	    " gzip on; gzip_comp_level 1; gzip_min_length 0;\n"
	    " gzip_types application/xml; gzip_vary on;\n"
	    " client_body_temp_path %s/tmp; proxy_temp_path %s/tmp;\n"
	    " fastcgi_temp_path %s/tmp; uwsgi_temp_path %s/tmp;\n"
	    " scgi_temp_path %s/tmp;\n"
	    " server {\n  listen 127.0.0.1:%d;\n  root %s/www;\n"
	    "  location / { add_header Cache-Control \"max-age=60\"; }\n"
	    " }\n}\n",
	    dir, dir, geteuid() == 0 ? "user root;\n" : "", dir, dir, dir, dir,
	    dir, port, dir);
	fclose(f);
	if ((pid = fork()) == 0) {
		execl(nginx, "nginx", "-p", dir, "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && pid > 0; i++) {
		if (port_open(port))
			return pid;
		usleep(50000);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/* Runs wrk and returns its Requests/sec, or -1. */
static double
wrk(int port, int secs, int conns, int gzip, double *mbps)
{
	char	 cmd[512], line[512];
	FILE	*p;
	double	 rps = -1, v;
	char	 unit[8];

	snprintf(cmd, sizeof(cmd), "wrk -t1 -c%d -d%ds %s "
	    "http://127.0.0.1:%d/notification.xml 2>&1", conns, secs,
	    gzip ? "-H 'Accept-Encoding: gzip'" : "", port);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	*mbps = 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		if (sscanf(line, "Requests/sec: %lf", &v) == 1)
			rps = v;
		if (sscanf(line, "Transfer/sec: %lf%7s", &v, unit) == 2)
			*mbps = unit[0] == 'K' ? v / 1024 :
			    unit[0] == 'G' ? v * 1024 : v;
		if (strstr(line, "Non-2xx") != NULL) {
			fprintf(stderr, "bench_http: wrk saw errors: %s", line);
			rps = -1;
		}
	}
	pclose(p);
	return rps;
}

int
main(int argc, char **argv)
{
	int				 secs = argc > 1 ? atoi(argv[1]) : 6;
	int				 conns = argc > 2 ? atoi(argv[2]) : 32;
	struct bsrv			 b = { 0 };
	struct cm_http_file_opts	 o = { "application/xml",
	    "max-age=60", 1795000000, 1, 0 };
	struct cm_err			 err;
	char				 dir[] = "/tmp/bench_http_XXXXXX";
	char				 path[512];
	const char			*nginx = nginx_path();
	uint8_t				*data = content();
	pid_t				 npid = -1;
	int				 nport = -1;
	FILE				*f;

	signal(SIGPIPE, SIG_IGN);
	if (!have("wrk")) {
		printf("bench_http: wrk is not installed (Debian package wrk); "
		    "nothing measured\n");
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/www", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/www/notification.xml", dir);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, FILE_SIZE, f) != FILE_SIZE)
		return 1;
	fclose(f);
	chmod(path, 0644);

	if ((b.file = cm_http_file_new(data, FILE_SIZE, &o, &err)) == NULL) {
		fprintf(stderr, "bench_http: %s\n", err.msg);
		return 1;
	}
	pthread_mutex_init(&b.mtx, NULL);
	pthread_cond_init(&b.cv, NULL);
	pthread_create(&b.thr, NULL, server_main, &b);
	pthread_mutex_lock(&b.mtx);
	while (!b.ready)
		pthread_cond_wait(&b.cv, &b.mtx);
	pthread_mutex_unlock(&b.mtx);

	if (nginx == NULL)
		printf("bench_http: nginx is not installed (Debian package "
		    "nginx-light); no baseline\n");
	else if ((nport = free_port()) < 0 ||
	    (npid = nginx_start(nginx, dir, nport)) < 0)
		printf("bench_http: nginx did not start (see %s/error.log); "
		    "no baseline\n", dir);

	printf("file %d bytes (gzip %zu), %d connections, wrk -t1, %d s per "
	    "run, loopback\n", FILE_SIZE, cm_http_file_gzip_len(b.file),
	    conns, secs);
	for (int gz = 0; gz < 2; gz++) {
		double	c_mb, n_mb = 0, c_rps, n_rps = -1;

		c_rps = wrk(b.port, secs, conns, gz, &c_mb);
		if (npid > 0)
			n_rps = wrk(nport, secs, conns, gz, &n_mb);
		printf("%-9s cairn %10.0f req/s (%6.1f MB/s)", gz ? "gzip" :
		    "identity", c_rps, c_mb);
		if (n_rps > 0)
			printf("   nginx %10.0f req/s (%6.1f MB/s)   "
			    "ratio cairn/nginx %.2f", n_rps, n_mb,
			    c_rps / n_rps);
		printf("\n");
	}

	if (npid > 0) {
		kill(npid, SIGTERM);
		waitpid(npid, NULL, 0);
	}
	cm_http_server_shutdown_async(b.srv);
	pthread_join(b.thr, NULL);
	cm_http_file_unref(b.file);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return 0;
}
