/* cairn-pubd operator commands. */
#include "publish/pub_admin.h"

#include <fts.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "common/cm_log.h"
#include "publish/pub_bpki.h"
#include "publish/pub_build.h"
#include "publish/pub_msg.h"
#include "publish/pub_oob.h"
#include "publish/pub_repo.h"

#define SYNC_FILE_MAX	(64u * 1024 * 1024)

int
pub_admin_bpki_init(const struct pub_conf *c)
{
	struct cm_err	err;

	if (c->bpki_key == NULL || c->bpki_cert == NULL) {
		fprintf(stderr, "bpki-init: [rfc8181] bpki-key and bpki-cert "
		    "must name the files to create\n");
		return 1;
	}
	if (pub_bpki_create(c->bpki_key, c->bpki_cert, "cairn-pubd", &err) ==
	    -1) {
		fprintf(stderr, "bpki-init: %s\n", err.msg);
		return 1;
	}
	printf("created %s and %s\n", c->bpki_key, c->bpki_cert);
	return 0;
}

static int
publisher_add(const struct pub_conf *c, struct db *db, const char *file)
{
	struct pub_oob	*req = NULL, resp;
	struct pub_bpki	*bpki = NULL;
	struct cm_buf	 out = CM_BUF_INIT;
	struct cm_err	 err;
	uint8_t		*xml = NULL, *der = NULL;
	size_t		 len, derlen;
	char		*sia = NULL, *svc = NULL, *notify = NULL;
	int		 rc = 1;

	memset(&resp, 0, sizeof(resp));
	if (c->service_uri == NULL || c->bpki_key == NULL ||
	    c->bpki_cert == NULL) {
		fprintf(stderr, "publisher-add: [rfc8181] service-uri, "
		    "bpki-key and bpki-cert are required\n");
		return 1;
	}
	if (cm_file_read(file, PUB_OOB_MAX, &xml, &len, &err) == -1 ||
	    pub_oob_parse(file, xml, len, PUB_OOB_PUBLISHER_REQUEST, &req,
	    &err) == -1 ||
	    (bpki = pub_bpki_load(c->bpki_key, c->bpki_cert, &err)) == NULL ||
	    pub_bpki_cert_der(bpki, &der, &derlen, &err) == -1)
		goto fail;
	if (asprintf(&sia, "%s%s/", c->rsync_base, req->handle) == -1 ||
	    asprintf(&svc, "%s%s", c->service_uri, req->handle) == -1 ||
	    asprintf(&notify, "%snotification.xml", c->rrdp_base) == -1) {
		cm_err_set(&err, CM_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if (pub_repo_publisher_add(db, req->handle, sia, req->bpki_ta,
	    req->bpki_ta_len, NULL, &err) == -1)
		goto fail;
	resp.type = PUB_OOB_REPOSITORY_RESPONSE;
	resp.tag = req->tag;
	resp.handle = req->handle;
	resp.service_uri = svc;
	resp.sia_base = sia;
	resp.rrdp_notification_uri = notify;
	resp.bpki_ta = der;
	resp.bpki_ta_len = derlen;
	if (pub_oob_write(&resp, &out, &err) == -1)
		goto fail;
	fwrite(out.data, 1, out.len, stdout);
	cm_info("publisher %s added with base %s", req->handle, sia);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "publisher-add: %s\n", err.msg);
out:
	cm_buf_free(&out);
	free(xml);
	OPENSSL_free(der);
	free(sia);
	free(svc);
	free(notify);
	pub_oob_free(req);
	pub_bpki_free(bpki);
	return rc;
}

/* The local publisher handle, created with base <rsync base><handle>/. */
static int
local_publisher(const struct pub_conf *c, struct db *db, const char *handle,
    struct pub_publisher *p, struct cm_err *err)
{
	char	*base;
	int	 rc;

	if (pub_repo_publisher_get(db, handle, p, err) == 0)
		return 0;
	if (err->code != CM_ENOTFOUND)
		return -1;
	if (asprintf(&base, "%s%s/", c->rsync_base, handle) == -1)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	rc = pub_repo_publisher_add(db, handle, base, NULL, 0, NULL, err);
	free(base);
	if (rc == -1)
		return -1;
	cm_info("local publisher %s created", handle);
	return pub_repo_publisher_get(db, handle, p, err);
}

/* The current objects of p (URI and hash), as a list reply. */
static int
current(struct db *db, const struct pub_publisher *p, struct pub_msg **out,
    struct cm_err *err)
{
	struct pub_msg	*q = pub_msg_new(0);
	int		 rc = -1;

	if (q == NULL)
		return cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
	if (pub_msg_add(q, PUB_PDU_LIST, NULL, NULL, NULL, NULL, 0, err) == 0 &&
	    pub_repo_apply(db, p, q, out, err) == 0)
		rc = 0;
	pub_msg_free(q);
	return rc;
}

/* The PDUs of a message that carry a URI, sorted for find_uri(). */
struct uri_index {
	const struct pub_pdu	**v;
	size_t			  n;
};

static int
cmp_pdu(const void *a, const void *b)
{
	return strcmp((*(const struct pub_pdu *const *)a)->uri,
	    (*(const struct pub_pdu *const *)b)->uri);
}

static int
uri_index(const struct pub_msg *m, struct uri_index *x)
{
	size_t	i;

	x->n = 0;
	if ((x->v = calloc(m->npdus + 1, sizeof(*x->v))) == NULL)
		return -1;
	for (i = 0; i < m->npdus; i++)
		if (m->pdus[i].uri != NULL)
			x->v[x->n++] = &m->pdus[i];
	qsort(x->v, x->n, sizeof(*x->v), cmp_pdu);
	return 0;
}

static const struct pub_pdu *
find_uri(const struct uri_index *x, const char *uri)
{
	struct pub_pdu		 key;
	const struct pub_pdu	*kp = &key, **r;

	key.uri = (char *)uri;
	r = bsearch(&kp, x->v, x->n, sizeof(*x->v), cmp_pdu);
	return r != NULL ? *r : NULL;
}

/* Adds publishes for the files below dir that differ from cur. */
static int
add_files(const struct pub_publisher *p, const char *dir,
    const struct uri_index *cur, struct pub_msg *q, struct pub_msg *seen,
    size_t *published, struct cm_err *err)
{
	char		*paths[] = { (char *)dir, NULL };
	const struct pub_pdu *old;
	FTSENT		*e;
	FTS		*fts;
	uint8_t		*data, h[32];
	size_t		 len, dl = strlen(dir);
	char		*uri;
	int		 rc = 0;

	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return cm_err_set(err, CM_EIO, dir, "cannot read: %m");
	while (rc == 0 && (e = fts_read(fts)) != NULL) {
		if (e->fts_info != FTS_F)
			continue;
		if (asprintf(&uri, "%s%s", p->base_uri, e->fts_path + dl +
		    (e->fts_path[dl] == '/')) == -1) {
			rc = cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
			break;
		}
		if (cm_file_read(e->fts_path, SYNC_FILE_MAX, &data, &len,
		    err) == -1) {
			free(uri);
			rc = -1;
			break;
		}
		cm_sha256(data, len, h);
		old = find_uri(cur, uri);
		rc = pub_msg_add(seen, PUB_PDU_LIST, NULL, uri, h, NULL, 0, err);
		if (rc == 0 && (old == NULL || memcmp(old->hash, h, 32) != 0)) {
			rc = pub_msg_add(q, PUB_PDU_PUBLISH, NULL, uri,
			    old != NULL ? old->hash : NULL, data, len, err);
			(*published)++;
		}
		free(data);
		free(uri);
	}
	fts_close(fts);
	return rc;
}

int
pub_admin_sync(const struct pub_conf *c, struct db *db, const char *handle,
    const char *dir, size_t *published, size_t *withdrawn,
    struct cm_err *err)
{
	struct pub_publisher	 p;
	struct pub_msg		*cur = NULL, *q = NULL, *seen = NULL;
	struct pub_msg		*reply = NULL;
	struct uri_index	 curx = { NULL, 0 }, seenx = { NULL, 0 };
	size_t			 i, np = 0, nw = 0;
	int			 rc = -1;

	memset(&p, 0, sizeof(p));
	if (local_publisher(c, db, handle, &p, err) == -1 ||
	    current(db, &p, &cur, err) == -1)
		goto out;
	if (uri_index(cur, &curx) == -1) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((q = pub_msg_new(0)) == NULL || (seen = pub_msg_new(1)) == NULL) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (add_files(&p, dir, &curx, q, seen, &np, err) == -1)
		goto out;
	if (uri_index(seen, &seenx) == -1) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (i = 0; i < cur->npdus; i++) {
		if (find_uri(&seenx, cur->pdus[i].uri) != NULL)
			continue;
		if (pub_msg_add(q, PUB_PDU_WITHDRAW, NULL, cur->pdus[i].uri,
		    cur->pdus[i].hash, NULL, 0, err) == -1)
			goto out;
		nw++;
	}
	if (q->npdus > 0) {
		if (pub_repo_apply(db, &p, q, &reply, err) == -1)
			goto out;
		if (reply->npdus > 0 && reply->pdus[0].type == PUB_PDU_ERROR) {
			cm_err_set(err, CM_EINVAL, handle, "%s: %s",
			    pub_errcode_name(reply->pdus[0].error),
			    reply->pdus[0].error_text ?
			    reply->pdus[0].error_text : "");
			goto out;
		}
	}
	if (published != NULL)
		*published = np;
	if (withdrawn != NULL)
		*withdrawn = nw;
	rc = 0;
out:
	free(curx.v);
	free(seenx.v);
	pub_msg_free(cur);
	pub_msg_free(q);
	pub_msg_free(seen);
	pub_msg_free(reply);
	pub_publisher_clear(&p);
	return rc;
}

/* Prints one line per row of sql's result (columns joined by spaces). */
static int
print_rows(struct db *db, const char *prefix, const char *sql,
    const char *none, struct cm_err *err)
{
	struct db_res	*r = NULL;
	int		 i, j, n;

	if ((n = db_exec(db, sql, NULL, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		printf("%s", prefix);
		for (j = 0; j < db_res_cols(r); j++)
			printf(" %s", db_res_text(r, i, j));
		printf("\n");
	}
	if (n == 0 && none != NULL)
		printf("%s %s\n", prefix, none);
	db_res_free(r);
	return 0;
}

/* The state an operator wants first: serial, pending, held, leader. */
static int
status(struct db *db, struct cm_err *err)
{
	char	sql[256];

	snprintf(sql, sizeof(sql), "SELECT 'pid', pid FROM pg_locks WHERE "
	    "locktype = 'advisory' AND granted AND ((classid::bigint << 32) | "
	    "objid::bigint) = %lld", (long long)PUB_LEADER_LOCK);
	if (print_rows(db, "session", "SELECT s.id, 'serial', "
	    "coalesce(max(r.serial), 0), 'built', coalesce(max(r.created_at)"
	    "::text, 'never') FROM rrdp_session s LEFT JOIN rrdp_serial r ON "
	    "r.session_id = s.id WHERE s.current GROUP BY s.id", "none",
	    err) == -1 ||
	    print_rows(db, "notification", "SELECT 'serial', r.serial FROM "
	    "rrdp_serial r JOIN rrdp_session s ON s.id = r.session_id WHERE "
	    "s.current AND r.notification IS NOT NULL", "none", err) == -1 ||
	    print_rows(db, "pending", "SELECT count(*), 'changes' FROM "
	    "pub_change WHERE serial IS NULL", NULL, err) == -1 ||
	    print_rows(db, "HELD", "SELECT 'batch', id, 'up to change', "
	    "last_change, 'since', created_at, ':', reason FROM pub_hold WHERE "
	    "released_at IS NULL", NULL, err) == -1 ||
	    print_rows(db, "leader", sql, "none", err) == -1 ||
	    print_rows(db, "publishers", "SELECT count(*), 'with', (SELECT "
	    "count(*) FROM pub_object), 'objects' FROM publisher WHERE "
	    "deleted_at IS NULL", NULL, err) == -1)
		return -1;
	return 0;
}

static const char *
who(void)
{
	static char	 buf[80];
	struct passwd	*pw = getpwuid(getuid());

	snprintf(buf, sizeof(buf), "cli:%s", pw ? pw->pw_name : "?");
	return buf;
}

int
pub_admin_run(const struct pub_conf *c, struct db *db, int argc,
    char *argv[])
{
	struct cm_err	err;
	size_t		np, nw;
	int		n;

	if (argc == 2 && strcmp(argv[0], "publisher-add") == 0)
		return publisher_add(c, db, argv[1]);
	if (argc == 3 && strcmp(argv[0], "sync") == 0) {
		if (pub_admin_sync(c, db, argv[1], argv[2], &np, &nw,
		    &err) == -1) {
			fprintf(stderr, "sync: %s\n", err.msg);
			return 1;
		}
		printf("%s: %zu published, %zu withdrawn (pending the next "
		    "serial)\n", argv[1], np, nw);
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "confirm-batch") == 0) {
		if (pub_build_release(db, who(), &n, &err) == -1) {
			fprintf(stderr, "confirm-batch: %s\n", err.msg);
			return 1;
		}
		printf("%d held batch%s released\n", n, n == 1 ? "" : "es");
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		if (status(db, &err) == -1) {
			fprintf(stderr, "status: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "reset-session") == 0) {
		if (pub_build_reset_session(db, &err) == -1) {
			fprintf(stderr, "reset-session: %s\n", err.msg);
			return 1;
		}
		printf("RRDP session ended; the leader starts a new one\n");
		return 0;
	}
	fprintf(stderr, "cairn-pubd: unknown command or wrong arguments: %s\n",
	    argv[0]);
	return 2;
}
