/*
 * ca_eng: an offline parent (docs/offline-ta.md).  A trust anchor kept off
 * the network runs in a cairnd of its own; the RIR CA below it runs here
 * as its delegated child, and the RFC 6492 messages between them travel as
 * files (ca/offline.h) that an operator carries.
 *
 * The child side makes a request file of a whole round at once, decided
 * from what it knows: list; issue for its active key (every exchange
 * renews the certificate over the current entitlement) or, before the
 * first certificate, for a key made for it; issue for the new key of a
 * roll under way; revoke for keys the parent last listed that are no
 * longer ours.
 *
 * The parent side answers every message of the file in order (each one
 * as if posted: BPKI signature, replay protection, one transaction),
 * re-issues its manifest and CRL, and writes every current object of its
 * publication points into the response.
 *
 * The child side imports the response in one transaction: the replies
 * (verified, each signing time later than the last), the certificates
 * they carry (installed as a round installs them, shrinking what they
 * cover), and the parent's publication points, which are published here
 * for it after the checks a relying party makes: a manifest signed under
 * the parent's certificate (authenticated by the replies, or as last
 * authenticated), listing exactly the files with their hashes, current,
 * and never older than the one published.  The parent's new certificate
 * for us and what we re-issue under it reach the repository in the same
 * publication batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/crl.h"
#include "ca/csr.h"
#include "ca/engine_int.h"
#include "ca/mft.h"
#include "ca/offline.h"
#include "ca/tak.h"
#include "ca/updown.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_log.h"

/* A manifest may be dated this far in the future (the parent's clock). */
#define CLOCK_SKEW	300

#define MIRROR_PREFIX	"mirror "

/* What the child side knows about its offline parent besides eng_parent. */
struct off_state {
	char	  klass[ENG_CLASS_MAX];		/* "" when never listed */
	char	  requested[HSM_KEY_ID_LEN + 1];	/* "" when none */
	char	**listed;			/* key ids */
	size_t	  nlisted;
	uint8_t	 *pcert;			/* parent's cert; NULL */
	size_t	  pcertlen;
	int	  pending_cert;			/* the pending key is certified */
};

static void
off_state_clear(struct off_state *s)
{
	size_t i;

	for (i = 0; i < s->nlisted; i++)
		free(s->listed[i]);
	free(s->listed);
	free(s->pcert);
	memset(s, 0, sizeof(*s));
}

static int
nomem(const char *who, struct cm_err *err)
{
	return cm_err_set(err, CM_ENOMEM, who, "out of memory");
}

/* Splits a PostgreSQL text[] of key ids ("{a,b}") into s->listed. */
static int
parse_listed(const char *arr, struct off_state *s, struct cm_err *err)
{
	const char	*p = arr, *q;
	size_t		 n;

	if (*p++ != '{')
		return cm_err_set(err, CM_EDB, "ca_parent", "listed_keys is not "
		    "an array");
	while (*p != '\0' && *p != '}') {
		q = p + strcspn(p, ",}");
		n = (size_t)(q - p);
		if (n == HSM_KEY_ID_LEN) {
			char **l = realloc(s->listed, (s->nlisted + 1) *
			    sizeof(*l));

			if (l == NULL)
				return nomem("ca_parent", err);
			s->listed = l;
			if ((l[s->nlisted] = strndup(p, n)) == NULL)
				return nomem("ca_parent", err);
			s->nlisted++;
		}
		p = *q == ',' ? q + 1 : q;
	}
	return 0;
}

static int
load_state(struct ca_eng *e, struct db *db, const struct eng_parent *pi,
    struct off_state *s, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*d;
	size_t			 dl;
	int			 rc = -1;

	memset(s, 0, sizeof(*s));
	if (!pi->offline)
		return cm_err_set(err, CM_ESTATE, pi->handle, "the parent %s is "
		    "online (cairnd parent sync); import its parent_response "
		    "with --offline to exchange files instead", pi->parent);
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	if (db_exec(db, "SELECT coalesce(class, ''), coalesce(requested_key, "
	    "''), listed_keys::text, parent_cert, EXISTS (SELECT 1 FROM ca_key "
	    "k WHERE k.ca_id = $1 AND k.state = 'pending' AND k.cert IS NOT "
	    "NULL) FROM ca_parent WHERE ca_id = $1", &p, &r, err) == -1)
		return -1;
	if (db_res_rows(r) != 1) {
		cm_err_set(err, CM_ENOTFOUND, pi->handle, "no parent");
		goto out;
	}
	snprintf(s->klass, sizeof(s->klass), "%s", db_res_text(r, 0, 0));
	snprintf(s->requested, sizeof(s->requested), "%s", db_res_text(r, 0, 1));
	s->pending_cert = strcmp(db_res_text(r, 0, 4), "t") == 0;
	if (parse_listed(db_res_text(r, 0, 2), s, err) == -1)
		goto out;
	if (!db_res_isnull(r, 0, 3)) {
		if (db_res_bytea(r, 0, 3, &d, &dl, err) == -1)
			goto out;
		if ((s->pcert = malloc(dl)) == NULL) {
			nomem(pi->handle, err);
			goto out;
		}
		memcpy(s->pcert, d, dl);
		s->pcertlen = dl;
	}
	rc = 0;
out:
	db_res_free(r);
	(void)e;
	if (rc == -1)
		off_state_clear(s);
	return rc;
}

/* ---- the child side: a request file ---------------------------------- */

struct req_build {
	struct ca_off	f;
	size_t		cap;
};

static int
add_msg(struct ca_eng *e, struct eng_parent *pi, struct ca_ud_msg *q,
    struct req_build *b, struct cm_err *err)
{
	struct ca_off_blob	*m;
	int			 rc;

	if (b->f.nmsgs == CA_OFF_MSG_MAX)
		return cm_err_set(err, CM_ELIMIT, pi->handle, "more than %d "
		    "messages", CA_OFF_MSG_MAX);
	m = &b->f.msgs[b->f.nmsgs];
	rc = eng_parent_sign(e, pi, q, &m->der, &m->len, err);
	free(q->sender);
	free(q->recipient);
	q->sender = q->recipient = NULL;
	if (rc == 0)
		b->f.nmsgs++;
	return rc;
}

static int
add_issue(struct ca_eng *e, struct eng_parent *pi, const char *klass,
    const char *key_id, struct req_build *b, struct cm_err *err)
{
	struct ca_ud_msg	 q;
	struct hsm_key		*key = NULL;
	char			 mft[ENG_URI_MAX];
	int			 rc = -1;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_ISSUE;
	snprintf(mft, sizeof(mft), "%s%.16s.mft", pi->repo, key_id);
	if ((q.class_name = strdup(klass)) == NULL) {
		nomem(pi->handle, err);
		goto out;
	}
	if (hsm_key_find(e->hsm, key_id, &key, err) == -1 ||
	    ca_csr_make(key, pi->repo, mft, e->conf.notify_uri, &q.pkcs10,
	    &q.pkcs10_len, err) == -1 ||
	    add_msg(e, pi, &q, b, err) == -1)
		goto out;
	rc = 0;
out:
	hsm_key_free(key);
	free(q.class_name);
	free(q.pkcs10);
	return rc;
}

static int
add_revoke(struct ca_eng *e, struct eng_parent *pi, const char *klass,
    const char *key_id, struct req_build *b, struct cm_err *err)
{
	struct ca_ud_msg	q;
	int			rc;

	memset(&q, 0, sizeof(q));
	q.type = CA_UD_REVOKE;
	if (cm_hex_decode(key_id, q.ski, sizeof(q.ski)) == -1)
		return cm_err_set(err, CM_EINVAL, pi->handle, "bad key id %s",
		    key_id);
	if ((q.class_name = strdup(klass)) == NULL)
		return nomem(pi->handle, err);
	rc = add_msg(e, pi, &q, b, err);
	free(q.class_name);
	return rc;
}

/*
 * The key of the first certificate: made once and remembered, so that a
 * request made again before the parent answered asks for the same key.
 */
static int
first_key(struct ca_eng *e, const struct eng_parent *pi, struct off_state *s,
    struct cm_err *err)
{
	struct hsm_key		*key = NULL;
	struct db_params	 p;
	char			 label[HSM_LABEL_MAX];

	if (s->requested[0] != '\0')
		return 0;
	snprintf(label, sizeof(label), "cairn ca %.64s", pi->handle);
	if (hsm_key_create(e->hsm, label, &key, err) == -1)
		return -1;
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_text(&p, hsm_key_id(key));
	if (db_exec(e->db, "UPDATE ca_parent SET requested_key = $2 WHERE "
	    "ca_id = $1", &p, NULL, err) == -1) {
		eng_key_discard(key, pi->handle);
		return -1;
	}
	snprintf(s->requested, sizeof(s->requested), "%s", hsm_key_id(key));
	hsm_key_free(key);
	return 0;
}

int
ca_eng_offline_request(struct ca_eng *e, const char *handle,
    const char *actor, char **out, size_t *outlen, struct cm_err *err)
{
	struct eng_parent	 pi;
	struct off_state	 s;
	struct req_build	 b;
	struct ca_ud_msg	 q;
	const char		*klass;
	size_t			 i;
	int			 rc = -1;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	memset(&s, 0, sizeof(s));
	if (eng_parent_begin(e, handle, &pi, err) == -1)
		return -1;
	if (load_state(e, e->db, &pi, &s, err) == -1)
		goto out;
	/*
	 * The class the parent last listed; before any list, "default" (the
	 * one class of a Cairn parent; another parent answers 1201 and the
	 * list in the same file tells the class for the next request).
	 */
	klass = s.klass[0] != '\0' ? s.klass : pi.klass[0] != '\0' ? pi.klass :
	    "default";
	b.f.kind = CA_OFF_REQUEST;
	b.f.parent = pi.parent;
	b.f.child = pi.child;
	b.f.created = eng_now(e);
	if ((b.f.msgs = calloc(CA_OFF_MSG_MAX, sizeof(*b.f.msgs))) == NULL) {
		nomem(handle, err);
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.type = CA_UD_LIST;
	if (add_msg(e, &pi, &q, &b, err) == -1)
		goto out;
	if (pi.active[0] == '\0' && first_key(e, &pi, &s, err) == -1)
		goto out;
	if (add_issue(e, &pi, klass, pi.active[0] != '\0' ? pi.active :
	    s.requested, &b, err) == -1)
		goto out;
	if (pi.pending[0] != '\0' && add_issue(e, &pi, klass, pi.pending, &b,
	    err) == -1)
		goto out;
	for (i = 0; i < s.nlisted; i++) {
		if (strcmp(s.listed[i], pi.active) == 0 ||
		    strcmp(s.listed[i], pi.pending) == 0 ||
		    strcmp(s.listed[i], pi.old) == 0)
			continue;
		if (add_revoke(e, &pi, klass, s.listed[i], &b, err) == -1)
			goto out;
	}
	if (ca_off_write(&b.f, out, outlen, err) == -1)
		goto out;
	if (eng_audit(e->db, actor, "parent.offline-request", pi.ca_id,
	    pi.parent, err) == -1)
		goto out;
	rc = (int)b.f.nmsgs;
out:
	if (rc == -1) {
		free(*out);
		*out = NULL;
	}
	for (i = 0; i < b.f.nmsgs; i++)
		free(b.f.msgs[i].der);
	free(b.f.msgs);
	off_state_clear(&s);
	eng_parent_end(e, handle, &pi);
	return rc;
}

/* ---- checking a mirrored publication point ---------------------------- */

/* The directory part of uri ("rsync://h/m/a/" of "rsync://h/m/a/f.cer"). */
static void
base_of(const char *uri, char base[ENG_URI_MAX])
{
	const char *slash = strrchr(uri, '/');

	snprintf(base, ENG_URI_MAX, "%.*s", (int)(slash - uri + 1), uri);
}

static const struct ca_off_obj *
find_obj(const struct ca_off *f, const char *uri)
{
	size_t i;

	for (i = 0; i < f->nobjs; i++)
		if (strcmp(f->objs[i].uri, uri) == 0)
			return &f->objs[i];
	return NULL;
}

/* The manifest number as a decimal string (for numeric(50, 0)). */
static int
mft_number_text(const struct ca_mft *m, char *out, size_t outlen,
    struct cm_err *err)
{
	BIGNUM	*bn;
	char	*dec;

	if ((bn = BN_bin2bn(m->number, (int)m->numberlen, NULL)) == NULL ||
	    (dec = BN_bn2dec(bn)) == NULL) {
		BN_free(bn);
		return cm_err_set(err, CM_ENOMEM, "manifest", "out of memory");
	}
	snprintf(out, outlen, "%s", dec);
	OPENSSL_free(dec);
	BN_free(bn);
	return 0;
}

/*
 * Checks the parent's publication point (the objects under base, the
 * caRepository of pc) like a relying party: its manifest (pc's
 * rpkiManifest) signed under pc's key and current, listing exactly the
 * other files of base with their hashes; the CRL and certificates there
 * signed by pc's key.  The manifest number (decimal) goes to num and its
 * nextUpdate to *next.
 */
static int
check_point(const struct ca_off *f, const char *base, const struct ca_cert *pc,
    int64_t now, char *num, size_t numlen, int64_t *next, struct ca_tak **succ,
    struct cm_err *err)
{
	const struct ca_off_obj	*mo, *o;
	struct ca_mft		*m = NULL;
	struct ca_crl		*crl = NULL;
	X509			*ee = NULL, *x = NULL;
	struct ca_tak		*tak = NULL;
	EVP_PKEY		*pk = X509_get0_pubkey(pc->x509);
	const uint8_t		*q;
	uint8_t			 h[32];
	char			 uri[ENG_URI_MAX];
	size_t			 i, j, inbase = 0;
	int			 rc = -1;

	if (strncmp(pc->sia_mft, base, strlen(base)) != 0 ||
	    strchr(pc->sia_mft + strlen(base), '/') != NULL)
		return cm_err_set(err, CM_EINVAL, pc->sia_mft, "the parent's "
		    "manifest is outside its publication point");
	if ((mo = find_obj(f, pc->sia_mft)) == NULL)
		return cm_err_set(err, CM_EINVAL, pc->sia_mft, "the parent's "
		    "manifest is not in the response");
	if (ca_mft_parse(mo->uri, mo->der, mo->len, &m, &ee, err) == -1)
		goto out;
	if (X509_verify(ee, pk) != 1) {
		cm_err_set(err, CM_EPERM, mo->uri, "not signed under the "
		    "parent's certificate");
		goto out;
	}
	if ((int64_t)m->next_update <= now ||
	    (int64_t)m->this_update > now + CLOCK_SKEW) {
		cm_err_set(err, CM_EINVAL, mo->uri, "not current (thisUpdate "
		    "%lld, nextUpdate %lld, now %lld)", (long long)m->this_update,
		    (long long)m->next_update, (long long)now);
		goto out;
	}
	for (i = 0; i < m->nfiles; i++) {
		snprintf(uri, sizeof(uri), "%s%s", base, m->files[i].name);
		if ((o = find_obj(f, uri)) == NULL) {
			cm_err_set(err, CM_EINVAL, mo->uri, "lists %s, which is "
			    "not in the response", m->files[i].name);
			goto out;
		}
		cm_sha256(o->der, o->len, h);
		if (memcmp(h, m->files[i].hash, 32) != 0) {
			cm_err_set(err, CM_EINVAL, uri, "hash differs from the "
			    "manifest's");
			goto out;
		}
		if (strlen(uri) > 4 && strcmp(uri + strlen(uri) - 4, ".crl") == 0) {
			if (ca_crl_parse(uri, o->der, o->len, &crl, err) == -1)
				goto out;
			if (X509_CRL_verify(crl->crl, pk) != 1 ||
			    (int64_t)crl->next_update <= now) {
				cm_err_set(err, CM_EINVAL, uri, "not signed by the "
				    "parent or not current");
				goto out;
			}
			ca_crl_free(crl);
			crl = NULL;
		} else if (strlen(uri) > 4 &&
		    strcmp(uri + strlen(uri) - 4, ".tak") == 0) {
			/* RFC 9691: the key this one rolls to, if any. */
			if (ca_tak_parse(uri, o->der, o->len, &tak, &x,
			    err) == -1)
				goto out;
			if (X509_verify(x, pk) != 1) {
				cm_err_set(err, CM_EPERM, uri, "not signed under "
				    "the parent's certificate");
				goto out;
			}
			X509_free(x);
			x = NULL;
			if (tak->successor != NULL && *succ == NULL) {
				*succ = tak;
				tak = NULL;
			}
			ca_tak_free(tak);
			tak = NULL;
		} else if (strlen(uri) > 4 &&
		    strcmp(uri + strlen(uri) - 4, ".cer") == 0) {
			q = o->der;
			if ((x = d2i_X509(NULL, &q, (long)o->len)) == NULL ||
			    X509_verify(x, pk) != 1) {
				cm_err_set(err, CM_EINVAL, uri, "not a certificate "
				    "signed by the parent");
				goto out;
			}
			X509_free(x);
			x = NULL;
		}
	}
	/* Nothing unlisted: every object under base is the manifest or listed. */
	for (i = 0; i < f->nobjs; i++) {
		const char *name = f->objs[i].uri + strlen(base);

		if (strncmp(f->objs[i].uri, base, strlen(base)) != 0 ||
		    strchr(name, '/') != NULL)
			continue;
		inbase++;
		if (&f->objs[i] == mo)
			continue;
		for (j = 0; j < m->nfiles; j++)
			if (strcmp(m->files[j].name, name) == 0)
				break;
		if (j == m->nfiles) {
			cm_err_set(err, CM_EINVAL, f->objs[i].uri, "not on the "
			    "parent's manifest");
			goto out;
		}
	}
	if (inbase != m->nfiles + 1) {
		cm_err_set(err, CM_EINVAL, mo->uri, "the publication point has "
		    "%zu files, the manifest lists %zu", inbase - 1, m->nfiles);
		goto out;
	}
	if (mft_number_text(m, num, numlen, err) == -1)
		goto out;
	*next = (int64_t)m->next_update;
	rc = 0;
out:
	ca_tak_free(tak);
	X509_free(x);
	X509_free(ee);
	ca_crl_free(crl);
	ca_mft_free(m);
	return rc;
}

/* ---- publishing a mirrored point -------------------------------------- */

/*
 * The publisher of mirrored point base; made on first use.  A base inside
 * or around a publication point of ours is refused.
 */
static int
mirror_publisher(struct db *db, const char *base, const char *parent,
    int64_t *id, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 h[ENG_URI_MAX + 16];
	int			 n;

	db_params_init(&p);
	db_param_text(&p, base);
	if ((n = db_exec(db, "SELECT handle FROM publisher WHERE deleted_at IS "
	    "NULL AND handle NOT LIKE '" MIRROR_PREFIX "%' AND (starts_with("
	    "base_uri, $1) OR starts_with($1, base_uri))", &p, &r, err)) == -1)
		return -1;
	if (n > 0) {
		cm_err_set(err, CM_EPERM, base, "overlaps the publication point "
		    "of %s here", db_res_text(r, 0, 0));
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	r = NULL;
	snprintf(h, sizeof(h), MIRROR_PREFIX "%s", base);
	db_params_init(&p);
	db_param_text(&p, h);
	db_param_text(&p, base);
	if (db_exec(db, "INSERT INTO publisher (handle, base_uri) VALUES ($1, $2) "
	    "ON CONFLICT (handle) DO UPDATE SET deleted_at = NULL RETURNING id",
	    &p, &r, err) == -1 || db_res_int64(r, 0, 0, id, err) == -1) {
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	db_params_init(&p);
	db_param_int(&p, *id);
	if ((n = db_exec(db, "SELECT parent FROM mirror_point WHERE "
	    "publisher_id = $1", &p, &r, err)) == -1)
		return -1;
	if (n > 0 && strcmp(db_res_text(r, 0, 0), parent) != 0) {
		cm_err_set(err, CM_EPERM, base, "is mirrored for %s, not %s",
		    db_res_text(r, 0, 0), parent);
		db_res_free(r);
		return -1;
	}
	db_res_free(r);
	return 0;
}

/* Replaces the objects of publisher pub by those of f under base. */
static int
mirror_sync(struct db *db, int64_t pub, const struct ca_off *f,
    const char *base, size_t *published, size_t *withdrawn, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	const uint8_t		*h;
	uint8_t			 nh[32];
	size_t			 hl, i;
	int			 n, k, rc = -1;

	db_params_init(&p);
	db_param_int(&p, pub);
	if ((n = db_exec(db, "SELECT uri, hash FROM mirror_object WHERE "
	    "publisher_id = $1", &p, &r, err)) == -1)
		return -1;
	/* Withdrawn: what is there and no longer in f. */
	for (k = 0; k < n; k++) {
		const struct ca_off_obj *o = find_obj(f, db_res_text(r, k, 0));

		if (o != NULL && strncmp(o->uri, base, strlen(base)) == 0)
			continue;
		if (db_res_bytea(r, k, 1, &h, &hl, err) == -1 ||
		    eng_outbox(db, pub, "withdraw", db_res_text(r, k, 0), h, NULL,
		    0, err) == -1)
			goto out;
		db_params_init(&p);
		db_param_text(&p, db_res_text(r, k, 0));
		if (db_exec(db, "DELETE FROM mirror_object WHERE uri = $1", &p,
		    NULL, err) == -1)
			goto out;
		(*withdrawn)++;
	}
	for (i = 0; i < f->nobjs; i++) {
		const struct ca_off_obj	*o = &f->objs[i];
		const uint8_t		*old = NULL;

		if (strncmp(o->uri, base, strlen(base)) != 0 ||
		    strchr(o->uri + strlen(base), '/') != NULL)
			continue;
		cm_sha256(o->der, o->len, nh);
		for (k = 0; k < n; k++)
			if (strcmp(db_res_text(r, k, 0), o->uri) == 0)
				break;
		if (k < n) {
			if (db_res_bytea(r, k, 1, &h, &hl, err) == -1)
				goto out;
			if (memcmp(h, nh, 32) == 0)
				continue;
			old = h;
		}
		if (eng_outbox(db, pub, "publish", o->uri, old, o->der, o->len,
		    err) == -1)
			goto out;
		db_params_init(&p);
		db_param_text(&p, o->uri);
		db_param_int(&p, pub);
		db_param_bytea(&p, o->der, o->len);
		db_param_bytea(&p, nh, 32);
		if (db_exec(db, "INSERT INTO mirror_object (uri, publisher_id, der, "
		    "hash) VALUES ($1, $2, $3, $4) ON CONFLICT (uri) DO UPDATE SET "
		    "der = $3, hash = $4", &p, NULL, err) == -1)
			goto out;
		(*published)++;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/* Withdraws every object of a point of parent that f no longer has. */
static int
mirror_drop_absent(struct db *db, const char *parent, const char *const *bases,
    size_t nbases, size_t *withdrawn, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_off		 empty;
	size_t			 i;
	int64_t			 pub;
	int			 k, n, rc = -1;

	memset(&empty, 0, sizeof(empty));
	db_params_init(&p);
	db_param_text(&p, parent);
	if ((n = db_exec(db, "SELECT m.publisher_id, b.base_uri FROM mirror_point "
	    "m JOIN publisher b ON b.id = m.publisher_id WHERE m.parent = $1",
	    &p, &r, err)) == -1)
		return -1;
	for (k = 0; k < n; k++) {
		for (i = 0; i < nbases; i++)
			if (strcmp(bases[i], db_res_text(r, k, 1)) == 0)
				break;
		if (i < nbases)
			continue;
		if (db_res_int64(r, k, 0, &pub, err) == -1 ||
		    mirror_sync(db, pub, &empty, db_res_text(r, k, 1), withdrawn,
		    withdrawn, err) == -1)
			goto out;
		db_params_init(&p);
		db_param_int(&p, pub);
		if (db_exec(db, "DELETE FROM mirror_point WHERE publisher_id = $1",
		    &p, NULL, err) == -1 ||
		    db_exec(db, "UPDATE publisher SET deleted_at = now() WHERE "
		    "id = $1", &p, NULL, err) == -1)
			goto out;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/*
 * The successor's certificate that the TAK succ names (RFC 9691): a trust
 * anchor certificate in f at one of the successor's URIs, with its key.
 * *out (parsed), *der and *len (in f) are set; returns 0 or -1.
 */
static int
find_successor(const struct ca_off *f, const struct ca_tak *succ,
    struct ca_cert **out, const uint8_t **der, size_t *len, struct cm_err *err)
{
	struct ca_cert	*c = NULL;
	struct cm_err	 e2;
	size_t		 i, u;

	for (u = 0; u < succ->successor->nuris; u++) {
		for (i = 0; i < f->nobjs; i++) {
			if (strcmp(f->objs[i].uri, succ->successor->uris[u]) != 0)
				continue;
			if (ca_cert_parse(f->objs[i].uri, f->objs[i].der,
			    f->objs[i].len, &c, &e2) == 0 &&
			    c->kind == CA_CERT_TA && c->sia_repo != NULL &&
			    c->sia_mft != NULL && EVP_PKEY_eq(X509_get0_pubkey(
			    c->x509), succ->successor->key) == 1) {
				*out = c;
				*der = f->objs[i].der;
				*len = f->objs[i].len;
				return 0;
			}
			ca_cert_free(c);
			c = NULL;
		}
	}
	return cm_err_set(err, CM_EINVAL, "TAK", "the successor key it names "
	    "has no trust anchor certificate in the response at its URIs");
}

/*
 * Checks and publishes the publication points of f for parent, whose
 * certificate (DER) is pcert.  During a key roll of the parent (a trust
 * anchor, RFC 9691) the TAK in its point names the successor key, whose
 * certificate and point are then checked and published too.  Outside the
 * checked points only those certificates themselves may appear.  Returns
 * 0 or -1.
 */
static int
mirror_apply(struct ca_eng *e, struct db *db, const char *parent,
    const struct ca_off *f, const uint8_t *pcert, size_t pcertlen,
    const char *actor, struct ca_eng_offline_result *res, struct cm_err *err)
{
	struct ca_cert		*tc[2] = { NULL, NULL };
	const uint8_t		*tder[2] = { pcert, NULL };
	size_t			 tlen[2] = { pcertlen, 0 };
	struct ca_tak		*succ = NULL, *succ2 = NULL;
	const char		**bases = NULL;
	struct db_params	 p;
	struct db_res		*r = NULL;
	char			 base[ENG_URI_MAX], num[2][64];
	size_t			 i, j, k, nt = 1, nbases = 0;
	int64_t			 pub, next[2] = { 0, 0 };
	int			 n, pt, rc = -1;

	if (ca_cert_parse("the parent's certificate", pcert, pcertlen, &tc[0],
	    err) == -1)
		return -1;
	if (tc[0]->sia_repo == NULL || tc[0]->sia_mft == NULL) {
		cm_err_set(err, CM_EINVAL, parent, "its certificate has no "
		    "publication point");
		goto out;
	}
	if ((bases = calloc(f->nobjs + 1, sizeof(*bases))) == NULL) {
		nomem(parent, err);
		goto out;
	}
	for (i = 0; i < f->nobjs; i++) {
		const struct ca_off_obj *o = &f->objs[i];

		if (strncmp(o->uri, e->conf.rsync_base,
		    strlen(e->conf.rsync_base)) != 0) {
			cm_err_set(err, CM_EPERM, o->uri, "outside this "
			    "repository (%s)", e->conf.rsync_base);
			goto out;
		}
		base_of(o->uri, base);
		for (j = 0; j < nbases; j++)
			if (strcmp(bases[j], base) == 0)
				break;
		if (j < nbases)
			continue;
		if ((bases[nbases] = strdup(base)) == NULL) {
			nomem(parent, err);
			goto out;
		}
		nbases++;
	}
	/* The points of the trusted certificates, each checked. */
	for (k = 0; k < nt; k++) {
		for (j = 0; j < nbases; j++)
			if (strcmp(bases[j], tc[k]->sia_repo) == 0)
				break;
		if (j == nbases) {
			cm_err_set(err, CM_EINVAL, tc[k]->sia_repo, "the parent's "
			    "publication point is not in the response");
			goto out;
		}
		if (check_point(f, tc[k]->sia_repo, tc[k], eng_now(e), num[k],
		    sizeof(num[k]), &next[k], k == 0 ? &succ : &succ2,
		    err) == -1)
			goto out;
		if (k == 0 && succ != NULL) {
			if (find_successor(f, succ, &tc[1], &tder[1], &tlen[1],
			    err) == -1)
				goto out;
			if (strcmp(tc[1]->sia_repo, tc[0]->sia_repo) == 0) {
				cm_err_set(err, CM_EINVAL, tc[1]->sia_repo, "the "
				    "successor key publishes in the same point");
				goto out;
			}
			nt = 2;
		}
	}
	/* Outside the points: only the trusted certificates themselves. */
	for (i = 0; i < f->nobjs; i++) {
		base_of(f->objs[i].uri, base);
		for (k = 0; k < nt; k++)
			if (strcmp(base, tc[k]->sia_repo) == 0 ||
			    (f->objs[i].len == tlen[k] &&
			    memcmp(f->objs[i].der, tder[k], tlen[k]) == 0))
				break;
		if (k == nt) {
			cm_err_set(err, CM_EPERM, f->objs[i].uri, "outside the "
			    "parent's publication point, and not its certificate");
			goto out;
		}
	}
	for (j = 0; j < nbases; j++) {
		pt = -1;
		for (k = 0; k < nt; k++)
			if (strcmp(bases[j], tc[k]->sia_repo) == 0)
				pt = (int)k;
		if (mirror_publisher(db, bases[j], parent, &pub, err) == -1)
			goto out;
		db_params_init(&p);
		db_param_int(&p, pub);
		db_param_text(&p, pt >= 0 ? num[pt] : "0");
		db_param_text(&p, pt >= 0 ? tc[pt]->sia_mft : "");
		/* Per manifest (key), compared as numbers by the database. */
		if ((n = db_exec(db, "SELECT manifest_number::text FROM "
		    "mirror_point WHERE publisher_id = $1 AND manifest_uri = $3 "
		    "AND manifest_number > $2::numeric", &p, &r, err)) == -1)
			goto out;
		if (pt >= 0 && n > 0) {
			cm_err_set(err, CM_ESTATE, tc[pt]->sia_mft, "manifest "
			    "number %s is older than the one published (%s): this "
			    "response is older than one imported before", num[pt],
			    db_res_text(r, 0, 0));
			goto out;
		}
		db_res_free(r);
		r = NULL;
		db_params_init(&p);
		db_param_int(&p, pub);
		db_param_text(&p, parent);
		db_param_text(&p, pt >= 0 ? num[pt] : NULL);
		db_param_int(&p, pt >= 0 ? next[pt] : 0);
		db_param_text(&p, actor);
		db_param_text(&p, pt >= 0 ? tc[pt]->sia_mft : NULL);
		if (db_exec(db, "INSERT INTO mirror_point (publisher_id, parent, "
		    "manifest_number, next_update, imported_by, manifest_uri) "
		    "VALUES ($1, $2, $3::numeric, CASE WHEN $3 IS NULL THEN NULL "
		    "ELSE to_timestamp($4::bigint) END, $5, $6) ON CONFLICT "
		    "(publisher_id) DO UPDATE SET manifest_number = "
		    "EXCLUDED.manifest_number, next_update = EXCLUDED.next_update, "
		    "imported_at = now(), imported_by = EXCLUDED.imported_by, "
		    "manifest_uri = EXCLUDED.manifest_uri", &p, NULL, err) == -1 ||
		    mirror_sync(db, pub, f, bases[j], &res->published,
		    &res->withdrawn, err) == -1)
			goto out;
	}
	if (mirror_drop_absent(db, parent, bases, nbases, &res->withdrawn,
	    err) == -1)
		goto out;
	res->next_update = nt == 2 && next[1] < next[0] ? next[1] : next[0];
	res->rolling = nt == 2;
	rc = 0;
out:
	db_res_free(r);
	for (i = 0; bases != NULL && i < nbases; i++)
		free((char *)bases[i]);
	free(bases);
	ca_tak_free(succ);
	ca_tak_free(succ2);
	ca_cert_free(tc[0]);
	ca_cert_free(tc[1]);
	return rc;
}

/* ---- the child side: importing a response ----------------------------- */

struct import_arg {
	struct ca_eng			*e;
	struct eng_parent		*pi;
	const struct ca_off		*f;
	const char			*actor;
	struct ca_eng_offline_result	*res;
};

/* The issuer of a reply's class, which every class must agree on. */
static int
note_issuer(const struct ca_ud_class *cl, const uint8_t **issuer,
    size_t *len, const char *who, struct cm_err *err)
{
	if (cl->issuer == NULL || cl->issuer_len == 0)
		return 0;
	if (*issuer != NULL && (*len != cl->issuer_len ||
	    memcmp(*issuer, cl->issuer, *len) != 0))
		return cm_err_set(err, CM_EINVAL, who, "the replies name two "
		    "different parent certificates");
	*issuer = cl->issuer;
	*len = cl->issuer_len;
	return 0;
}

static int
import_tx(struct db *db, void *arg, struct cm_err *err)
{
	struct import_arg		*a = arg;
	struct eng_parent		*pi = a->pi;
	struct ca_eng_offline_result	*res = a->res;
	struct off_state		 s;
	struct ca_ud_msg		**m = NULL;
	struct db_params		 p;
	struct cm_buf			 arr = CM_BUF_INIT;
	const uint8_t			*issuer = NULL;
	size_t				 ilen = 0, i, j, nm = a->f->nmsgs;
	char				 k[HSM_KEY_ID_LEN + 1], **keys = NULL;
	size_t				 nkeys = 0;
	int				 listed = 0, empty = 0, rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	if (load_state(a->e, db, pi, &s, err) == -1)
		return -1;
	if (nm > 0 && (m = calloc(nm, sizeof(*m))) == NULL) {
		nomem(pi->handle, err);
		goto out;
	}
	for (i = 0; i < nm; i++) {
		if (eng_parent_accept(a->e, pi, a->f->msgs[i].der,
		    a->f->msgs[i].len, &m[i], err) == -1) {
			char ctx[48];

			snprintf(ctx, sizeof(ctx), "reply %zu", i + 1);
			cm_err_wrap(err, ctx);
			goto out;
		}
		res->replies++;
	}
	/* Room for every key listed before and in the replies. */
	for (i = 0, j = s.nlisted + 1; i < nm; i++)
		j += m[i]->nclasses > 0 ? m[i]->classes[0].ncerts + 1 : 1;
	if ((keys = calloc(j, sizeof(*keys))) == NULL) {
		nomem(pi->handle, err);
		goto out;
	}
	/* What the parent lists now: the list reply, or as last known. */
	for (i = 0; i < nm; i++)
		if (m[i]->type == CA_UD_LIST_RESPONSE)
			listed = 1;
	if (!listed)
		for (i = 0; i < s.nlisted; i++)
			if ((keys[nkeys++] = strdup(s.listed[i])) == NULL) {
				nomem(pi->handle, err);
				goto out;
			}
	for (i = 0; i < nm; i++) {
		struct ca_ud_msg		*r = m[i];
		const struct ca_ud_class	*cl;
		const char			*state;

		switch (r->type) {
		case CA_UD_LIST_RESPONSE:
			if (r->nclasses == 0 || (r->classes[0].res_as[0] ==
			    '\0' && r->classes[0].res_v4[0] == '\0' &&
			    r->classes[0].res_v6[0] == '\0')) {
				empty = 1;
				break;
			}
			cl = &r->classes[0];
			if (r->nclasses > 1)
				cm_warn("%s: %s lists %zu resource classes; only "
				    "\"%s\" is used", pi->handle, pi->parent,
				    r->nclasses, cl->class_name);
			if (note_issuer(cl, &issuer, &ilen, pi->parent,
			    err) == -1)
				goto out;
			for (j = 0; j < cl->ncerts; j++) {
				if (eng_parent_cert_key(cl->certs[j].der,
				    cl->certs[j].der_len, k, err) == -1)
					goto out;
				if ((keys[nkeys] = strdup(k)) == NULL) {
					nomem(pi->handle, err);
					goto out;
				}
				nkeys++;
			}
			db_params_init(&p);
			db_param_int(&p, pi->ca_id);
			db_param_text(&p, cl->class_name);
			db_param_text(&p, cl->res_as);
			db_param_text(&p, cl->res_v4);
			db_param_text(&p, cl->res_v6);
			db_param_int(&p, eng_now(a->e));
			if (db_exec(db, "UPDATE ca_parent SET class = $2, asn = $3, "
			    "ipv4 = $4, ipv6 = $5, last_sync = to_timestamp("
			    "$6::bigint), last_error = NULL WHERE ca_id = $1", &p,
			    NULL, err) == -1)
				goto out;
			break;
		case CA_UD_ISSUE_RESPONSE:
			cl = &r->classes[0];
			if (note_issuer(cl, &issuer, &ilen, pi->parent,
			    err) == -1 ||
			    eng_parent_cert_key(cl->certs[0].der,
			    cl->certs[0].der_len, k, err) == -1)
				goto out;
			if (strcmp(k, pi->active) == 0 ||
			    (pi->active[0] == '\0' && strcmp(k, s.requested) == 0))
				state = "active";
			else if (strcmp(k, pi->pending) == 0)
				state = "pending";
			else {
				cm_err_set(err, CM_EPERM, pi->parent, "certifies "
				    "key %s, which we did not ask for", k);
				goto out;
			}
			if (eng_parent_install(a->e, db, pi, cl, &cl->certs[0], k,
			    state, a->actor, err) == -1)
				goto out;
			db_params_init(&p);
			db_param_int(&p, pi->ca_id);
			db_param_text(&p, k);
			db_param_int(&p, eng_now(a->e));
			/* The staging period of a roll starts when it is public. */
			if (strcmp(state, "pending") == 0 && !s.pending_cert &&
			    db_exec(db, "UPDATE ca_key SET created_at = "
			    "to_timestamp($3::bigint) WHERE id = $2 AND ca_id = $1",
			    &p, NULL, err) == -1)
				goto out;
			db_params_init(&p);
			db_param_int(&p, pi->ca_id);
			db_param_text(&p, k);
			if (strcmp(k, s.requested) == 0 && db_exec(db, "UPDATE "
			    "ca_parent SET requested_key = NULL WHERE ca_id = $1 "
			    "AND requested_key = $2", &p, NULL, err) == -1)
				goto out;
			/* Known to this transaction from now on. */
			if (strcmp(state, "active") == 0)
				snprintf(pi->active, sizeof(pi->active), "%s", k);
			for (j = 0; j < nkeys; j++)
				if (keys[j] != NULL && strcmp(keys[j], k) == 0)
					break;
			if (j == nkeys && (keys[nkeys++] = strdup(k)) == NULL) {
				nomem(pi->handle, err);
				goto out;
			}
			res->installed++;
			break;
		case CA_UD_REVOKE_RESPONSE:
			cm_hex_encode(r->ski, 20, k);
			for (j = 0; j < nkeys; j++)
				if (keys[j] != NULL && strcmp(keys[j], k) == 0) {
					free(keys[j]);
					keys[j] = NULL;
				}
			res->revoked++;
			break;
		case CA_UD_ERROR_RESPONSE:
			cm_warn("%s: %s refused message %zu: %d %s", pi->handle,
			    pi->parent, i + 1, r->status, r->description != NULL ?
			    r->description : "");
			res->refused++;
			break;
		default:
			cm_err_set(err, CM_EINVAL, pi->parent, "reply %zu is a "
			    "%s", i + 1, ca_ud_type_name(r->type));
			goto out;
		}
	}
	/*
	 * Entitled to nothing (the parent removed us or took everything):
	 * what we publish goes, as in an online round.
	 */
	if (empty && res->installed == 0 && (pi->active[0] != '\0' ||
	    pi->pending[0] != '\0')) {
		cm_warn("%s: %s no longer entitles it to anything; its "
		    "publication point is withdrawn", pi->handle, pi->parent);
		if (eng_parent_retire(a->e, db, pi, a->actor, err) == -1)
			goto out;
		res->retired = 1;
	}
	/* listed_keys as a text[] literal (key ids are hex: no quoting). */
	if (cm_buf_puts(&arr, "{") == -1)
		goto oom;
	for (j = 0; j < nkeys; j++) {
		if (keys[j] == NULL)
			continue;
		if ((arr.len > 1 && cm_buf_puts(&arr, ",") == -1) ||
		    cm_buf_puts(&arr, keys[j]) == -1)
			goto oom;
	}
	if (cm_buf_add(&arr, "}", 2) == -1)
		goto oom;
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_text(&p, (const char *)arr.data);
	if (issuer != NULL)
		db_param_bytea(&p, issuer, ilen);
	else
		db_param_bytea(&p, s.pcert, s.pcertlen);
	if (db_exec(db, "UPDATE ca_parent SET listed_keys = $2::text[], "
	    "parent_cert = $3 WHERE ca_id = $1", &p, NULL, err) == -1)
		goto out;
	if (issuer == NULL && s.pcert == NULL && a->f->nobjs > 0) {
		cm_err_set(err, CM_ESTATE, pi->handle, "the parent's certificate "
		    "is not known yet: import a response to a request first");
		goto out;
	}
	if (a->f->nobjs > 0 && mirror_apply(a->e, db, pi->parent, a->f,
	    issuer != NULL ? issuer : s.pcert, issuer != NULL ? ilen :
	    s.pcertlen, a->actor, res, err) == -1)
		goto out;
	if (eng_audit(db, a->actor, "parent.offline-import", pi->ca_id,
	    pi->parent, err) == -1)
		goto out;
	rc = 0;
	goto out;
oom:
	nomem(pi->handle, err);
out:
	for (j = 0; keys != NULL && j < nkeys; j++)
		free(keys[j]);
	free(keys);
	cm_buf_free(&arr);
	for (i = 0; m != NULL && i < nm; i++)
		ca_ud_free(m[i]);
	free(m);
	off_state_clear(&s);
	return rc;
}

int
ca_eng_offline_import(struct ca_eng *e, const char *handle,
    const uint8_t *text, size_t len, const char *fn, const char *actor,
    struct ca_eng_offline_result *res, struct cm_err *err)
{
	struct eng_parent	 pi;
	struct ca_off		*f = NULL;
	struct import_arg	 a;
	int			 rc = -1;

	memset(res, 0, sizeof(*res));
	if (ca_off_parse(fn, text, len, CA_OFF_RESPONSE, &f, err) == -1)
		return -1;
	if (eng_parent_begin(e, handle, &pi, err) == -1)
		goto out_free;
	if (strcmp(f->parent, pi.parent) != 0 ||
	    (f->child != NULL && strcmp(f->child, pi.child) != 0)) {
		cm_err_set(err, CM_EPERM, fn, "a response of %s to %s, not of %s "
		    "to %s", f->parent, f->child != NULL ? f->child : "(none)",
		    pi.parent, pi.child);
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.pi = &pi;
	a.f = f;
	a.actor = actor;
	a.res = res;
	rc = db_tx(e->db, NULL, import_tx, &a, err);
out:
	eng_parent_end(e, handle, &pi);
out_free:
	ca_off_free(f);
	return rc;
}

/* ---- the parent side: answering a request ---------------------------- */

static int
refresh_tx(struct db *db, void *arg, struct cm_err *err)
{
	void		**a = arg;
	struct ca_eng	 *e = a[0];
	struct eng_ca	  c;
	int		  rc;

	if (eng_load_ca(e, db, a[1], &c, err) == -1)
		return -1;
	rc = eng_publish_pp(e, db, &c, err);
	if (rc == 0)
		rc = eng_audit(db, a[2], "offline.refresh", c.id, c.handle, err);
	eng_ctx_clear(&c);
	return rc;
}

int
ca_eng_offline_answer(struct ca_eng *e, const char *parent,
    const uint8_t *req, size_t reqlen, const char *fn, const char *actor,
    char **out, size_t *outlen, struct cm_err *err)
{
	struct ca_off		*in = NULL, o;
	struct db_params	 p;
	struct db_res		*r = NULL;
	void			*ta[3] = { e, (void *)parent, (void *)actor };
	const uint8_t		*d;
	size_t			 i, dl;
	int64_t			 last = 0;
	int			 n, w, rc = -1;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	if (req != NULL) {
		if (ca_off_parse(fn, req, reqlen, CA_OFF_REQUEST, &in, err) == -1)
			return -1;
		if (strcmp(in->parent, parent) != 0) {
			cm_err_set(err, CM_EPERM, fn, "addressed to %s, not %s",
			    in->parent, parent);
			goto out;
		}
		if ((o.msgs = calloc(in->nmsgs, sizeof(*o.msgs))) == NULL) {
			nomem(fn, err);
			goto out;
		}
		for (i = 0; i < in->nmsgs; i++) {
			/*
			 * The child takes each reply only when its signing
			 * time is later than the last (RFC 6492 §3.1, one
			 * second resolution): the previous reply was signed
			 * at last at the latest, so wait until the clock has
			 * passed it.
			 */
			for (w = 0; i > 0 && w < 30 && eng_now(e) <= last; w++)
				usleep(100000);
			if (ca_eng_updown_cms(e, parent, in->msgs[i].der,
			    in->msgs[i].len, &o.msgs[i].der, &o.msgs[i].len,
			    err) == -1) {
				char ctx[48];

				snprintf(ctx, sizeof(ctx), "%s: message %zu", fn,
				    i + 1);
				cm_err_wrap(err, ctx);
				goto out;
			}
			last = eng_now(e);
			o.nmsgs++;
		}
	}
	/* A fresh manifest and CRL: as long as possible until the next time. */
	if (db_tx(e->db, NULL, refresh_tx, ta, err) == -1)
		goto out;
	db_params_init(&p);
	db_param_text(&p, parent);
	if ((n = db_exec(e->db, "SELECT o.uri, o.der FROM issued_object o JOIN ca "
	    "c ON c.id = o.ca_id WHERE c.handle = $1 AND c.deleted_at IS NULL "
	    "AND o.withdrawn_at IS NULL ORDER BY o.uri", &p, &r, err)) == -1)
		goto out;
	if ((o.objs = calloc((size_t)n + 1, sizeof(*o.objs))) == NULL) {
		nomem(parent, err);
		goto out;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (db_res_bytea(r, (int)i, 1, &d, &dl, err) == -1)
			goto out;
		o.objs[i].uri = (char *)db_res_text(r, (int)i, 0);
		o.objs[i].der = (uint8_t *)d;
		o.objs[i].len = dl;
	}
	o.nobjs = (size_t)n;
	o.kind = CA_OFF_RESPONSE;
	o.parent = (char *)parent;
	o.child = in != NULL ? in->child : NULL;
	o.created = eng_now(e);
	rc = ca_off_write(&o, out, outlen, err);
out:
	for (i = 0; i < o.nmsgs; i++)
		free(o.msgs[i].der);
	free(o.msgs);
	free(o.objs);		/* the strings and bytes are r's */
	db_res_free(r);
	ca_off_free(in);
	return rc;
}

int
ca_eng_parent_offline(struct ca_eng *e, const char *handle, int on,
    struct cm_err *err)
{
	struct db_params	p;
	int			n;

	db_params_init(&p);
	db_param_text(&p, handle);
	db_param_text(&p, on ? "t" : "f");
	if ((n = db_exec(e->db, "UPDATE ca_parent SET offline = $2::boolean "
	    "WHERE ca_id = (SELECT id FROM ca WHERE handle = $1 AND deleted_at "
	    "IS NULL)", &p, NULL, err)) == -1)
		return -1;
	if (n == 0)
		return cm_err_set(err, CM_ENOTFOUND, handle, "no CA with a remote "
		    "parent by this handle (import its parent_response first)");
	return 0;
}

int
ca_eng_offline_due(struct ca_eng *e, int64_t within, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	int			 i, n;

	db_params_init(&p);
	db_param_int(&p, eng_now(e) + within);
	if ((n = db_exec(e->db, "SELECT m.parent, b.base_uri, to_char("
	    "m.next_update AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM mirror_point m JOIN publisher b ON b.id = m.publisher_id "
	    "WHERE m.next_update < to_timestamp($1::bigint) ORDER BY "
	    "m.next_update", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		cm_warn("offline parent %s: its manifest at %s expires at %s; "
		    "import a response (cairnd offline refresh, then parent "
		    "offline-import) before then", db_res_text(r, i, 0),
		    db_res_text(r, i, 1), db_res_text(r, i, 2));
	db_res_free(r);
	return n;
}
