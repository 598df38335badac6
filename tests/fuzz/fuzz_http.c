/*
 * libFuzzer target: the HTTP server's request handling (llhttp and the
 * callbacks that collect target, headers and body under the limits).
 *
 * One server lives for the whole run on a private loop.  Each input is
 * sent over a fresh loopback connection, the write side is shut, and the
 * loop runs until the server has closed the connection.  Oracles: the
 * sanitizers, every response starts with a valid status line, and the
 * server always closes (no connection is left behind).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "common/cm_http.h"
#include "common/cm_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t		 loop;
static struct cm_http_server	*srv;

static void
handler(struct cm_http_req *req, void *arg)
{
	struct cm_http_resp	*resp;
	size_t			 n = 0;

	/* Touch everything the handler may read. */
	for (size_t i = 0; i < req->nheaders; i++)
		n += strlen(req->headers[i].name) + strlen(req->headers[i].value);
	n += strlen(req->target) + strlen(req->path) +
	    (req->query ? strlen(req->query) : 0);
	for (size_t i = 0; i < req->body_len; i++)
		n += req->body[i];
	if ((resp = cm_http_resp_new(200)) != NULL)
		cm_http_resp_body_copy(resp, &n, sizeof(n));
	cm_http_respond(req, resp);
}

static void
setup(void)
{
	struct cm_http_config	cfg = { 0 };
	struct cm_err		err;

	signal(SIGPIPE, SIG_IGN);
	cm_log_init("fuzz_http", CM_LOG_ERR);
	uv_loop_init(&loop);
	cfg.host = "127.0.0.1";
	cfg.handler = handler;
	cfg.access_log = CM_HTTP_ALOG_OFF;
	cfg.max_body = 4096;
	cfg.max_header_size = 4096;
	cfg.max_request_line = 1024;
	cfg.max_headers = 16;
	cfg.idle_timeout_ms = 2000;
	cfg.read_timeout_ms = 2000;
	cfg.write_timeout_ms = 2000;
	if ((srv = cm_http_server_new(&loop, &cfg, &err)) == NULL) {
		fprintf(stderr, "fuzz_http: %s\n", err.msg);
		abort();
	}
}

/* Reads what is there; returns 1 on EOF or reset. */
static int
drain(int fd, char *seen, size_t *nseen, size_t cap)
{
	char	buf[4096];
	ssize_t	n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			size_t	take = (size_t)n < cap - *nseen ?
			    (size_t)n : cap - *nseen;

			memcpy(seen + *nseen, buf, take);
			*nseen += take;
			continue;
		}
		if (n == 0 || errno == ECONNRESET)
			return 1;
		return 0;	/* EAGAIN */
	}
}

/*
 * Waits for a non-blocking connect to finish; returns 0, or -1 with errno
 * set to the connection's error.
 */
static int
wait_connected(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLOUT };
	socklen_t	len = sizeof(int);
	int		soerr = 0;

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

static unsigned long	nconn;	/* connections made, for the source address */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in	sa;
	struct linger		lg = { 1, 0 };
	char			seen[64];
	size_t			off = 0, nseen = 0;
	int			fd, done = 0, one = 1, tries = 0;
	ssize_t			w = 0;

	if (srv == NULL)
		setup();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	/*
	 * Tens of thousands of connections a second leave as many TIME_WAIT
	 * entries (the server closes first), which would use up the ephemeral
	 * ports of one source address within seconds: rotate the source over
	 * 127.0.0.2-127.0.0.251, the whole loopback net being local.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (uint32_t)(nconn++ % 250));
	/* The port is chosen at connect() (unique 4-tuple), not at bind(). */
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	sa.sin_port = htons(cm_http_server_port(srv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/*
	 * Non-blocking from the start: libFuzzer's timers deliver signals
	 * without SA_RESTART, and a blocking connect() that a signal
	 * interrupts returns EINTR while the handshake goes on.
	 */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Out of ports for a moment: wait for TIME_WAIT entries to expire. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINPROGRESS || errno == EINTR) {
			if (wait_connected(fd) == 0)
				break;
		} else if ((errno == EADDRNOTAVAIL || errno == EADDRINUSE) &&
		    ++tries <= 6000) {
			usleep(10000);
			continue;
		}
		/* The harness, not the server: say why. */
		fprintf(stderr, "fuzz_http: connect: %s\n", strerror(errno));
		abort();
	}
	while (!done) {
		while (off < size) {
			w = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (off == size || (w < 0 && errno != EAGAIN)) {
			shutdown(fd, SHUT_WR);
			off = size;
		}
		uv_run(&loop, UV_RUN_NOWAIT);
		done = drain(fd, seen, &nseen, sizeof(seen));
		if (!done)
			uv_run(&loop, UV_RUN_ONCE);
	}
	/*
	 * A reset, not a FIN: tens of thousands of connections per run would
	 * otherwise use up the ephemeral ports in TIME_WAIT.
	 */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if (nseen > 0 && (nseen < 12 || memcmp(seen, "HTTP/1.1 ", 9) != 0))
		abort();
	/* Let the server finish closing its side. */
	while (cm_http_server_nconns(srv) > 0)
		uv_run(&loop, UV_RUN_ONCE);
	return 0;
}
