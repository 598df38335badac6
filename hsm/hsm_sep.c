/*
 * Separate signer process (privilege separation, as in rpki-client and
 * OpenSSH): a forked child opens the real backend and answers requests
 * over SOCK_SEQPACKET socketpairs; this process keeps only public keys.
 * A compromise of the network-facing process can then ask for signatures
 * but never read a PIN, a module's memory or a key.
 *
 * One message is one packet: a header { op or status, payload length }
 * then the payload.  Requests: CREATE label, FIND id, DESTROY id,
 * SIGN id + digest.  Replies: status 0 with the DER SubjectPublicKeyInfo
 * (CREATE, FIND), the signature (SIGN) or nothing (DESTROY); or the
 * cm_errcode with the child's error message.
 */
#include "hsm/hsm_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "common/cm_log.h"

#define SEP_MSG_MAX	2048
#define SEP_CHAN_MAX	64

enum { SEP_CREATE = 1, SEP_FIND, SEP_DESTROY, SEP_SIGN };

struct sep_hdr {
	uint32_t	op;		/* request op; in replies the cm_errcode */
	uint32_t	len;		/* payload bytes that follow */
};

/* This process's side: a pool of channels to the child. */
struct sep_state {
	pid_t		 pid;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		*idle;		/* idle channel fds */
	unsigned	 nidle, nopen;
};

/* Sends one packet: header and payload (two parts, gathered). */
static int
send_msg(int fd, uint32_t op, const void *a, size_t na, const void *b,
    size_t nb)
{
	uint8_t		buf[SEP_MSG_MAX];
	struct sep_hdr	h = { op, (uint32_t)(na + nb) };
	size_t		n = sizeof(h) + na + nb;
	ssize_t		w;

	if (n > sizeof(buf))
		return -1;
	memcpy(buf, &h, sizeof(h));
	if (na > 0)
		memcpy(buf + sizeof(h), a, na);
	if (nb > 0)
		memcpy(buf + sizeof(h) + na, b, nb);
	while ((w = send(fd, buf, n, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	return w == (ssize_t)n ? 0 : -1;
}

/* Receives one packet into buf[SEP_MSG_MAX]; 1, 0 at EOF, -1 on error. */
static int
recv_msg(int fd, uint8_t *buf, struct sep_hdr *h, const uint8_t **payload)
{
	ssize_t	n;

	while ((n = recv(fd, buf, SEP_MSG_MAX, 0)) == -1 && errno == EINTR)
		;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	if ((size_t)n < sizeof(*h))
		return -1;
	memcpy(h, buf, sizeof(*h));
	if (h->len != (size_t)n - sizeof(*h))
		return -1;
	*payload = buf + sizeof(*h);
	return 1;
}

/* ---- the child: serves requests with the real backend ---- */

/* A key handle cached by the child; freed when unused and destroyed. */
struct srv_key {
	struct srv_key	*next;
	struct hsm_key	*key;
	int		 refs;
};

struct srv {
	struct hsm	*backend;
	pthread_mutex_t	 mtx;
	struct srv_key	*keys;
};

struct srv_chan {
	struct srv	*srv;
	int		 fd;
};

static struct srv_key *
srv_key_get(struct srv *s, const char *id, struct cm_err *err)
{
	struct srv_key	*e;
	struct hsm_key	*k;

	pthread_mutex_lock(&s->mtx);
	for (e = s->keys; e != NULL && strcmp(e->key->id, id) != 0; e = e->next)
		;
	if (e != NULL)
		e->refs++;
	pthread_mutex_unlock(&s->mtx);
	if (e != NULL)
		return e;
	if (hsm_key_find(s->backend, id, &k, err) == -1)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		hsm_key_free(k);
		cm_err_set(err, CM_ENOMEM, id, "out of memory");
		return NULL;
	}
	e->key = k;
	e->refs = 2;			/* the list's and the caller's */
	pthread_mutex_lock(&s->mtx);
	e->next = s->keys;
	s->keys = e;
	pthread_mutex_unlock(&s->mtx);
	return e;
}

static void
srv_key_put(struct srv *s, struct srv_key *e)
{
	int	last;

	pthread_mutex_lock(&s->mtx);
	last = --e->refs == 0;
	pthread_mutex_unlock(&s->mtx);
	if (last) {
		hsm_key_free(e->key);
		free(e);
	}
}

/* Drops the cache entry of id, if any (its key is being destroyed). */
static void
srv_key_forget(struct srv *s, const char *id)
{
	struct srv_key	**pp, *e;

	pthread_mutex_lock(&s->mtx);
	for (pp = &s->keys; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->key->id, id) == 0) {
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&s->mtx);
	if (e != NULL)
		srv_key_put(s, e);
}

/* Replies with the DER public key of k. */
static int
reply_pub(int fd, struct hsm_key *k, struct cm_err *err)
{
	unsigned char	*der = NULL;
	int		 n, rc;

	if ((n = i2d_PUBKEY(k->pub, &der)) <= 0)
		return cm_err_ssl(err, k->id, "cannot encode the public key");
	rc = send_msg(fd, 0, der, (size_t)n, NULL, 0);
	OPENSSL_free(der);
	return rc;
}

/* Handles one request; -1 with err for an error reply. */
static int
srv_handle(struct srv *s, int fd, const struct sep_hdr *h, const uint8_t *p,
    struct cm_err *err)
{
	char		 str[HSM_LABEL_MAX + 1], id[HSM_KEY_ID_LEN + 1];
	uint8_t		 sig[HSM_SIG_MAX];
	size_t		 siglen;
	struct hsm_key	*k;
	struct srv_key	*e;
	int		 rc;

	if (h->op == SEP_CREATE) {
		if (h->len > HSM_LABEL_MAX || memchr(p, '\0', h->len) != NULL)
			return cm_err_set(err, CM_EINVAL, "signer", "bad label");
		memcpy(str, p, h->len);
		str[h->len] = '\0';
		if (hsm_key_create(s->backend, str, &k, err) == -1)
			return -1;
		rc = reply_pub(fd, k, err);
		hsm_key_free(k);
		return rc;
	}
	if (h->len != HSM_KEY_ID_LEN + (h->op == SEP_SIGN ? 32 : 0) ||
	    h->op < SEP_FIND || h->op > SEP_SIGN)
		return cm_err_set(err, CM_EINVAL, "signer", "bad request");
	memcpy(id, p, HSM_KEY_ID_LEN);
	id[HSM_KEY_ID_LEN] = '\0';
	if ((e = srv_key_get(s, id, err)) == NULL)
		return -1;
	switch (h->op) {
	case SEP_FIND:
		rc = reply_pub(fd, e->key, err);
		break;
	case SEP_SIGN:
		rc = hsm_key_sign(e->key, p + HSM_KEY_ID_LEN, sig, &siglen, err);
		if (rc == 0)
			rc = send_msg(fd, 0, sig, siglen, NULL, 0);
		break;
	default:
		/* Destroy through a handle of our own: others may be signing. */
		if ((rc = hsm_key_find(s->backend, id, &k, err)) == 0 &&
		    (rc = hsm_key_destroy(k, err)) == 0) {
			srv_key_forget(s, id);
			rc = send_msg(fd, 0, NULL, 0, NULL, 0);
		}
	}
	srv_key_put(s, e);
	return rc;
}

static void *
srv_chan_run(void *arg)
{
	struct srv_chan		*c = arg;
	uint8_t			 buf[SEP_MSG_MAX];
	const uint8_t		*p;
	struct sep_hdr		 h;
	struct cm_err		 err;

	while (recv_msg(c->fd, buf, &h, &p) == 1) {
		cm_err_clear(&err);
		if (srv_handle(c->srv, c->fd, &h, p, &err) == 0)
			continue;
		if (err.code == CM_OK)		/* the reply could not be sent */
			break;
		if (send_msg(c->fd, err.code, err.msg, strlen(err.msg), NULL,
		    0) == -1)
			break;
	}
	close(c->fd);
	return NULL;
}

/* The child's life: open, report, serve every channel, exit. */
static void __attribute__((noreturn))
srv_main(struct hsm *(*open_fn)(void *, struct cm_err *), void *arg,
    int *fds, unsigned n)
{
	struct srv	 s = { .backend = NULL };
	struct srv_chan	 ch[SEP_CHAN_MAX];
	pthread_t	 t[SEP_CHAN_MAX];
	int		 started[SEP_CHAN_MAX];
	struct cm_err	 err;
	struct srv_key	*e;
	unsigned	 i;

	cm_err_clear(&err);
	if ((s.backend = open_fn(arg, &err)) == NULL) {
		send_msg(fds[0], err.code ? err.code : CM_EIO, err.msg,
		    strlen(err.msg), NULL, 0);
		_exit(1);
	}
	send_msg(fds[0], 0, hsm_name(s.backend), strlen(hsm_name(s.backend)),
	    NULL, 0);
	pthread_mutex_init(&s.mtx, NULL);
	for (i = 0; i < n; i++) {
		ch[i] = (struct srv_chan){ &s, fds[i] };
		started[i] = i > 0 &&
		    pthread_create(&t[i], NULL, srv_chan_run, &ch[i]) == 0;
		/* A channel without a thread is closed: the parent drops it. */
		if (i > 0 && !started[i])
			close(fds[i]);
	}
	srv_chan_run(&ch[0]);
	for (i = 1; i < n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	while ((e = s.keys) != NULL) {
		s.keys = e->next;
		hsm_key_free(e->key);
		free(e);
	}
	hsm_close(s.backend);
	_exit(0);
}

/* ---- this process: forwards calls to the child ---- */

static int
chan_get(struct sep_state *st, struct cm_err *err)
{
	int	fd = -1;

	pthread_mutex_lock(&st->mtx);
	while (st->nidle == 0 && st->nopen > 0)
		pthread_cond_wait(&st->cv, &st->mtx);
	if (st->nidle > 0)
		fd = st->idle[--st->nidle];
	pthread_mutex_unlock(&st->mtx);
	if (fd == -1)
		cm_err_set(err, CM_EIO, "signer process", "no channel left "
		    "(the signer process is gone)");
	return fd;
}

static void
chan_put(struct sep_state *st, int fd, int broken)
{
	pthread_mutex_lock(&st->mtx);
	if (broken) {
		close(fd);
		st->nopen--;
		pthread_cond_broadcast(&st->cv);
	} else {
		st->idle[st->nidle++] = fd;
		pthread_cond_signal(&st->cv);
	}
	pthread_mutex_unlock(&st->mtx);
}

/*
 * One request and its reply.  On success the payload is copied to out
 * (at most *outlen bytes; *outlen gets the length).
 */
static int
sep_call(struct sep_state *st, uint32_t op, const void *a, size_t na,
    const void *b, size_t nb, uint8_t *out, size_t *outlen, struct cm_err *err)
{
	uint8_t		 buf[SEP_MSG_MAX];
	const uint8_t	*p;
	struct sep_hdr	 h;
	int		 fd, r = -1;

	if ((fd = chan_get(st, err)) == -1)
		return -1;
	if (send_msg(fd, op, a, na, b, nb) == -1 ||
	    (r = recv_msg(fd, buf, &h, &p)) != 1) {
		chan_put(st, fd, 1);
		return cm_err_set(err, CM_EIO, "signer process", "%s",
		    r == 0 ? "exited" : "does not answer");
	}
	chan_put(st, fd, 0);
	if (h.op != 0)
		return cm_err_set(err, h.op <= CM_ESTATE ? h.op : CM_EIO, NULL,
		    "%.*s", (int)h.len, (const char *)p);
	if (h.len > *outlen)
		return cm_err_set(err, CM_EIO, "signer process", "reply too long");
	if (h.len > 0)
		memcpy(out, p, h.len);
	*outlen = h.len;
	return 0;
}

/* A handle from a DER public key reply. */
static int
key_from_reply(struct hsm *h, const uint8_t *der, size_t len,
    struct hsm_key **out, struct cm_err *err)
{
	const unsigned char	*p = der;
	EVP_PKEY		*pub = d2i_PUBKEY(NULL, &p, (long)len);

	if (pub == NULL || p != der + len) {
		EVP_PKEY_free(pub);
		return cm_err_ssl(err, "signer process", "bad public key");
	}
	*out = hsm__key_new(h, pub, err);
	EVP_PKEY_free(pub);
	return *out == NULL ? -1 : 0;
}

static int
sep_key_create(struct hsm *h, const char *label, struct hsm_key **out,
    struct cm_err *err)
{
	uint8_t	der[SEP_MSG_MAX];
	size_t	len = sizeof(der);

	if (sep_call(h->impl, SEP_CREATE, label, label ? strlen(label) : 0,
	    NULL, 0, der, &len, err) == -1)
		return -1;
	return key_from_reply(h, der, len, out, err);
}

static int
sep_key_find(struct hsm *h, const char *id, struct hsm_key **out,
    struct cm_err *err)
{
	uint8_t	der[SEP_MSG_MAX];
	size_t	len = sizeof(der);

	if (sep_call(h->impl, SEP_FIND, id, HSM_KEY_ID_LEN, NULL, 0, der, &len,
	    err) == -1 || key_from_reply(h, der, len, out, err) == -1)
		return -1;
	if (strcmp((*out)->id, id) != 0) {
		hsm_key_free(*out);
		return cm_err_set(err, CM_ECRYPTO, id, "the signer process "
		    "returned another key");
	}
	return 0;
}

static int
sep_key_destroy(struct hsm_key *k, struct cm_err *err)
{
	size_t	len = 0;

	return sep_call(k->hsm->impl, SEP_DESTROY, k->id, HSM_KEY_ID_LEN, NULL,
	    0, NULL, &len, err);
}

static int
sep_key_sign(struct hsm_key *k, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	*siglen = HSM_SIG_MAX;
	return sep_call(k->hsm->impl, SEP_SIGN, k->id, HSM_KEY_ID_LEN, digest,
	    32, sig, siglen, err);
}

static void
sep_close(struct hsm *h)
{
	struct sep_state	*st = h->impl;

	while (st->nidle > 0)
		close(st->idle[--st->nidle]);
	if (st->pid > 0)
		while (waitpid(st->pid, NULL, 0) == -1 && errno == EINTR)
			;
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mtx);
	free(st->idle);
	free(st);
	free(h);
}

static const struct hsm_ops sep_ops = {
	.name = "separate",
	.key_create = sep_key_create,
	.key_find = sep_key_find,
	.key_destroy = sep_key_destroy,
	.key_sign = sep_key_sign,
	.key_release = NULL,
	.close = sep_close,
};

/* Reads the child's first message: the result of its open(). */
static int
sep_handshake(struct sep_state *st, int fd, struct cm_err *err)
{
	uint8_t		 buf[SEP_MSG_MAX];
	const uint8_t	*p;
	struct sep_hdr	 h;

	if (recv_msg(fd, buf, &h, &p) != 1)
		return cm_err_set(err, CM_EIO, "signer process", "exited "
		    "during start-up");
	if (h.op != 0)
		return cm_err_set(err, h.op <= CM_ESTATE ? h.op : CM_EIO,
		    NULL, "signer process: %.*s", (int)h.len, (const char *)p);
	cm_info("signer process %ld: %.*s backend, %u channels", (long)st->pid,
	    (int)h.len, (const char *)p, st->nopen);
	return 0;
}

struct hsm *
hsm_open_separate(struct hsm *(*open_fn)(void *, struct cm_err *), void *arg,
    unsigned channels, struct cm_err *err)
{
	struct hsm		*h = NULL;
	struct sep_state	*st = NULL;
	int			 fds[SEP_CHAN_MAX][2], child[SEP_CHAN_MAX];
	unsigned		 i, n = channels ? channels : 4;

	if (n > SEP_CHAN_MAX) {
		cm_err_set(err, CM_EINVAL, "signer process", "at most %d "
		    "channels", SEP_CHAN_MAX);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (st = calloc(1, sizeof(*st))) == NULL ||
	    (st->idle = calloc(n, sizeof(int))) == NULL) {
		free(st);
		free(h);
		cm_err_set(err, CM_ENOMEM, "signer process", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->mtx, NULL);
	pthread_cond_init(&st->cv, NULL);
	h->ops = &sep_ops;
	h->impl = st;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    fds[i]) == -1) {
			cm_err_set(err, CM_EIO, "signer process", "socketpair: "
			    "%s", strerror(errno));
			goto fail;
		}
		st->idle[st->nidle++] = fds[i][0];
		st->nopen++;
		child[i] = fds[i][1];
	}
	if ((st->pid = fork()) == -1) {
		cm_err_set(err, CM_EIO, "signer process", "fork: %s",
		    strerror(errno));
		goto fail;
	}
	if (st->pid == 0) {
		for (i = 0; i < n; i++)
			close(fds[i][0]);
		srv_main(open_fn, arg, child, n);
	}
	for (i = 0; i < n; i++)
		close(child[i]);
	n = 0;
	if (sep_handshake(st, st->idle[0], err) == -1)
		goto fail;
	return h;
fail:
	for (i = 0; i < n && i < st->nopen; i++)
		close(child[i]);
	hsm_close(h);
	return NULL;
}
