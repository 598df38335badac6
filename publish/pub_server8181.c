/* The RFC 8181 publication endpoint. */
#include "publish/pub_server8181.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ca/cms_msg.h"
#include "common/cm_buf.h"
#include "common/cm_log.h"
#include "db/db.h"
#include "publish/pub_msg.h"
#include "publish/pub_oob.h"
#include "publish/pub_repo.h"

#define CT_8181		"application/rpki-publication"
#define POOL_MAX	8

struct pub_server8181 {
	uv_loop_t		*loop;
	char			*dsn;
	char			*prefix;
	struct pub_bpki		*bpki;
	unsigned		 max_inflight;
	unsigned		 retry_after;
	unsigned		 inflight;	/* loop thread */
	unsigned long		 done, refused;
	pthread_mutex_t		 mu;		/* the pool */
	struct db		*pool[POOL_MAX];
	size_t			 npool;
};

struct job {
	uv_work_t		 w;
	struct pub_server8181	*s;
	struct cm_http_req	*req;
	struct cm_http_resp	*resp;
	char			 handle[PUB_HANDLE_MAX + 1];
};

struct pub_server8181 *
pub_server8181_new(uv_loop_t *loop, const struct pub_server8181_conf *conf,
    struct cm_err *err)
{
	struct pub_server8181	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dsn = strdup(conf->dsn)) == NULL ||
	    (s->prefix = strdup(conf->prefix)) == NULL) {
		if (s != NULL)
			free(s->dsn);
		free(s);
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->bpki = conf->bpki;
	s->max_inflight = conf->max_inflight ? conf->max_inflight : 16;
	s->retry_after = conf->retry_after ? conf->retry_after : 5;
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void
pub_server8181_free(struct pub_server8181 *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->npool; i++)
		db_close(s->pool[i]);
	pthread_mutex_destroy(&s->mu);
	free(s->dsn);
	free(s->prefix);
	free(s);
}

void
pub_server8181_stats(const struct pub_server8181 *s, unsigned long *done,
    unsigned long *refused)
{
	*done = s->done;
	*refused = s->refused;
}

static struct db *
pool_get(struct pub_server8181 *s, struct cm_err *err)
{
	struct db	*db = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->npool > 0)
		db = s->pool[--s->npool];
	pthread_mutex_unlock(&s->mu);
	if (db == NULL)
		db = db_open(s->dsn, 10, err);
	return db;
}

static void
pool_put(struct pub_server8181 *s, struct db *db)
{
	pthread_mutex_lock(&s->mu);
	if (s->npool < POOL_MAX) {
		s->pool[s->npool++] = db;
		db = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	db_close(db);
}

static struct cm_http_resp *
plain(int status, const char *text)
{
	struct cm_http_resp	*r = cm_http_resp_new(status);

	if (r != NULL && (cm_http_resp_header(r, "Content-Type",
	    "text/plain") == -1 || cm_http_resp_body_copy(r, text,
	    strlen(text)) == -1)) {
		cm_http_resp_free(r);
		r = NULL;
	}
	return r;
}

/* The signed reply m, or a 500 when signing fails. */
static struct cm_http_resp *
signed_reply(struct pub_server8181 *s, const char *handle,
    const struct pub_msg *m)
{
	struct cm_http_resp	*r;
	struct cm_buf		 xml = CM_BUF_INIT;
	struct cm_err		 err;
	uint8_t			*der = NULL;
	size_t			 len;

	if (pub_msg_write(m, &xml, &err) == -1 ||
	    pub_bpki_sign(s->bpki, xml.data, xml.len, time(NULL), &der, &len,
	    &err) == -1) {
		cm_error("%s: RFC 8181 reply: %s", handle, err.msg);
		cm_buf_free(&xml);
		return NULL;
	}
	cm_buf_free(&xml);
	if ((r = cm_http_resp_new(200)) == NULL ||
	    cm_http_resp_header(r, "Content-Type", CT_8181) == -1) {
		cm_http_resp_free(r);
		free(der);
		return NULL;
	}
	cm_http_resp_body_owned(r, der, len);
	return r;
}

/* A signed reply holding one report_error. */
static struct cm_http_resp *
error_reply(struct pub_server8181 *s, const char *handle,
    enum pub_errcode code, const char *text)
{
	struct pub_msg		*m = pub_msg_new(1);
	struct cm_http_resp	*r = NULL;
	struct cm_err		 err;

	cm_warn("%s: RFC 8181 %s: %s", handle, pub_errcode_name(code), text);
	if (m != NULL && pub_msg_add_error(m, code, text, NULL, &err) == 0)
		r = signed_reply(s, handle, m);
	pub_msg_free(m);
	return r;
}

static struct cm_http_resp *
process(struct pub_server8181 *s, const char *handle,
    const struct cm_http_req *req)
{
	struct pub_publisher	 p;
	struct ca_cms_msg	 cms;
	struct pub_msg		*q = NULL, *reply = NULL;
	struct cm_http_resp	*r = NULL;
	struct cm_err		 err;
	struct db		*db;
	const unsigned char	*cp;
	X509			*ta = NULL;

	memset(&p, 0, sizeof(p));
	memset(&cms, 0, sizeof(cms));
	if ((db = pool_get(s, &err)) == NULL) {
		cm_error("%s: RFC 8181: %s", handle, err.msg);
		return NULL;
	}
	if (pub_repo_publisher_get(db, handle, &p, &err) == -1) {
		r = err.code == CM_ENOTFOUND ? plain(404, "no such publisher\n")
		    : NULL;
		goto out;
	}
	if (p.id_cert == NULL) {
		r = plain(403, "local publisher: no RFC 8181 access\n");
		goto out;
	}
	cp = p.id_cert;
	if ((ta = d2i_X509(NULL, &cp, (long)p.id_cert_len)) == NULL) {
		r = error_reply(s, handle, PUB_ERR_OTHER_ERROR,
		    "stored BPKI TA of the publisher is not a certificate");
		goto out;
	}
	if (ca_cms_msg_verify(handle, req->body, req->body_len, ta,
	    time(NULL), &cms, &err) == -1) {
		r = error_reply(s, handle, PUB_ERR_BAD_CMS_SIGNATURE, err.msg);
		goto out;
	}
	if (pub_repo_signing_time(db, p.id, (int64_t)cms.signing_time,
	    &err) == -1) {
		r = error_reply(s, handle, err.code == CM_EPERM ?
		    PUB_ERR_BAD_CMS_SIGNATURE : PUB_ERR_OTHER_ERROR, err.msg);
		goto out;
	}
	if (pub_msg_parse(handle, cms.xml, cms.xml_len, 0, &q, &err) == -1) {
		r = error_reply(s, handle, PUB_ERR_XML_ERROR, err.msg);
		goto out;
	}
	if (pub_repo_apply(db, &p, q, &reply, &err) == -1) {
		cm_error("%s: RFC 8181 apply: %s", handle, err.msg);
		r = error_reply(s, handle, PUB_ERR_OTHER_ERROR,
		    "the repository could not store the change; retry later");
		goto out;
	}
	r = signed_reply(s, handle, reply);
out:
	X509_free(ta);
	ca_cms_msg_free(&cms);
	pub_msg_free(q);
	pub_msg_free(reply);
	pub_publisher_clear(&p);
	pool_put(s, db);
	return r;
}

static void
work_cb(uv_work_t *w)
{
	struct job	*j = w->data;

	j->resp = process(j->s, j->handle, j->req);
}

static void
after_cb(uv_work_t *w, int status)
{
	struct job	*j = w->data;

	j->s->inflight--;
	j->s->done++;
	cm_http_respond(j->req, j->resp);
	free(j);
}

void
pub_server8181_handle(struct cm_http_req *req, void *arg)
{
	struct pub_server8181	*s = arg;
	struct cm_http_resp	*r;
	const char		*ct, *h;
	struct job		*j;
	char			 ra[16];

	if (strncmp(req->path, s->prefix, strlen(s->prefix)) != 0) {
		cm_http_respond_status(req, 404);
		return;
	}
	h = req->path + strlen(s->prefix);
	if (*h == '\0' || strlen(h) > PUB_HANDLE_MAX || !pub_oob_handle_ok(h)) {
		cm_http_respond_status(req, 404);
		return;
	}
	if (req->method != CM_HTTP_POST) {
		cm_http_respond_status(req, 405);
		return;
	}
	ct = cm_http_req_header(req, "Content-Type");
	if (ct == NULL || strcasecmp(ct, CT_8181) != 0) {
		cm_http_respond_status(req, 415);
		return;
	}
	if (s->inflight >= s->max_inflight || (j = calloc(1, sizeof(*j))) ==
	    NULL) {
		s->refused++;
		r = cm_http_resp_new(503);
		snprintf(ra, sizeof(ra), "%u", s->retry_after);
		if (r != NULL)
			cm_http_resp_header(r, "Retry-After", ra);
		cm_http_respond(req, r);
		return;
	}
	j->w.data = j;
	j->s = s;
	j->req = req;
	snprintf(j->handle, sizeof(j->handle), "%s", h);
	s->inflight++;
	if (uv_queue_work(s->loop, &j->w, work_cb, after_cb) != 0) {
		s->inflight--;
		free(j);
		cm_http_respond_status(req, 500);
	}
}
