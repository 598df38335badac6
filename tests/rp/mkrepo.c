/*
 * mkrepo: builds a complete RPKI repository from a small description, with
 * Cairn's object core, for the relying-party tests.
 *
 *   mkrepo -b rsync://127.0.0.1:8873/repo/ -o DIR -t FILE.tal
 *          [-n https://.../notification.xml] [-k ta-key.pem] DESCRIPTION
 *   mkrepo -e DESCRIPTION      only print the VRPs (nothing signed)
 *   mkrepo -a DESCRIPTION      only print the ASPAs a validator must show
 *
 * The description has one statement per line ('#' starts a comment):
 *
 *   ta   NAME [as=RES] [v4=RES] [v6=RES]
 *   ca   NAME PARENT [as=RES] [v4=RES] [v6=RES] [mft-expired]
 *   roa  CA ASN PREFIX[-MAXLEN] ... [revoked]
 *   aspa CA CUSTOMER PROVIDER[,PROVIDER...]
 *
 * RES is the RFC 6492 text form ("64496-64511", "10.0.0.0/8,192.0.2.0/24").
 * A CA comes after its parent; the first statement is the TA.  The flags
 * make broken repositories for negative tests: "mft-expired" gives the CA a
 * manifest whose nextUpdate has passed, "revoked" puts the ROA's EE cert on
 * its CA's CRL.  A ROA outside its CA's resources is issued as written.
 *
 * Layout (RFC 6481): the TA cert is BASE/NAME.cer; each CA's publication
 * point is BASE/NAME/ with NAME.crl, NAME.mft, the certs of its child CAs
 * (CHILD.cer), its ROAs (asASN-N.roa) and ASPAs (asCUSTOMER.asa).  The TAL
 * names the rsync URI of the TA cert.
 *
 * stdout gets the VRPs a validator must produce, "AS<asn> <prefix>
 * <maxlen>" sorted as by LC_ALL=C sort: those of ROAs that are not revoked,
 * lie within their CA's resources, and hang from a chain of CAs that each
 * lie within their parent's resources and have a current manifest.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca/cert.h"
#include "ca/crl.h"
#include "ca/resources.h"
#include "ca/sigobj.h"
#include "ca/tal.h"
#include "common/cm_enc.h"
#include "common/cm_err.h"
#include "common/cm_file.h"
#include "hsm/hsm.h"

#define MAX_NODES	64
#define MAX_OBJS	256
#define MAX_FILES	(MAX_NODES + MAX_OBJS + 1)
#define NAME_MAX_LEN	32
#define DAY		86400

struct node {
	char		 name[NAME_MAX_LEN + 1];
	int		 parent;		/* -1 for the TA */
	struct ca_res	*res;			/* as certified; may inherit */
	struct ca_res	*eff;			/* inherit resolved */
	int		 mft_expired;
	int		 valid;			/* expected to validate */
	struct hsm_key	*key;
	X509		*cert;
	char		 cert_uri[512];
	time_t		 not_after;
	struct ca_crl_entry revoked[MAX_OBJS];
	size_t		 nrevoked;
};

struct pubfile {			/* one file of a publication point */
	int	 node;
	char	 name[NAME_MAX_LEN + 8];
	uint8_t	*der;
	size_t	 len;
};

struct roa_item {
	int		 node;
	struct ca_roa	 roa;
	int		 revoked;
};

struct aspa_item {
	int		 node;
	struct ca_aspa	 aspa;
};

struct repo {
	const char	*base, *outdir, *notify;
	time_t		 now;
	struct hsm	*hsm;
	struct node	 nodes[MAX_NODES];
	size_t		 nnodes;
	struct roa_item	 roas[MAX_OBJS];
	size_t		 nroas;
	struct aspa_item aspas[MAX_OBJS];
	size_t		 naspas;
	struct pubfile	 files[MAX_FILES];
	size_t		 nfiles;
};

static void
usage(void)
{
	fprintf(stderr, "usage: mkrepo -b rsync-base-uri/ -o outdir -t tal "
	    "[-n notify-uri] [-k ta-key.pem] description\n"
	    "       mkrepo -e | -a description\n");
}

static int
find_node(const struct repo *r, const char *name)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (strcmp(r->nodes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
name_ok(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int
parse_u32(const char *s, uint32_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (strncasecmp(s, "AS", 2) == 0)
		s += 2;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX ||
	    !isdigit((unsigned char)*s))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "ta NAME ..." or "ca NAME PARENT ..." with the words after the names. */
static int
parse_ca(struct repo *r, char **w, int nw, int is_ta, const char *where,
    struct cm_err *err)
{
	struct node	*n;
	int		 i = is_ta ? 2 : 3;

	if (r->nnodes == MAX_NODES)
		return cm_err_set(err, CM_ELIMIT, where, "too many CAs");
	if (nw < i || !name_ok(w[1]) || find_node(r, w[1]) >= 0)
		return cm_err_set(err, CM_EINVAL, where,
		    "expected a new CA name of [A-Za-z0-9_-]");
	if (is_ta != (r->nnodes == 0))
		return cm_err_set(err, CM_EINVAL, where,
		    "the TA must be the first statement, and only once");
	n = &r->nodes[r->nnodes];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", w[1]);
	n->parent = is_ta ? -1 : find_node(r, w[2]);
	if (!is_ta && n->parent < 0)
		return cm_err_set(err, CM_EINVAL, where,
		    "unknown parent CA %s", w[2]);
	if ((n->res = ca_res_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	r->nnodes++;
	for (; i < nw; i++) {
		enum ca_res_family f;

		if (!is_ta && strcmp(w[i], "mft-expired") == 0) {
			n->mft_expired = 1;
			continue;
		}
		if (strncmp(w[i], "as=", 3) == 0)
			f = CA_RES_AS;
		else if (strncmp(w[i], "v4=", 3) == 0)
			f = CA_RES_V4;
		else if (strncmp(w[i], "v6=", 3) == 0)
			f = CA_RES_V6;
		else
			return cm_err_set(err, CM_EINVAL, where,
			    "unknown word %s", w[i]);
		if (ca_res_parse(n->res, f, w[i] + 3, where, err) == -1)
			return -1;
	}
	if (ca_res_is_empty(n->res))
		return cm_err_set(err, CM_EINVAL, where, "CA without resources");
	return 0;
}

static int
parse_roa(struct repo *r, char **w, int nw, const char *where,
    struct cm_err *err)
{
	struct roa_item	*it;

	if (r->nroas == MAX_OBJS)
		return cm_err_set(err, CM_ELIMIT, where, "too many ROAs");
	it = &r->roas[r->nroas];
	memset(it, 0, sizeof(*it));
	if (nw < 4 || (it->node = find_node(r, w[1])) < 0 ||
	    parse_u32(w[2], &it->roa.asid) == -1)
		return cm_err_set(err, CM_EINVAL, where,
		    "expected: roa CA ASN PREFIX[-MAXLEN]... [revoked]");
	if ((it->roa.prefixes = calloc((size_t)nw,
	    sizeof(*it->roa.prefixes))) == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	r->nroas++;
	for (int i = 3; i < nw; i++) {
		if (strcmp(w[i], "revoked") == 0) {
			it->revoked = 1;
			continue;
		}
		if (ca_roa_prefix_parse(w[i],
		    &it->roa.prefixes[it->roa.nprefixes], err) == -1)
			return cm_err_wrap(err, where);
		it->roa.nprefixes++;
	}
	if (it->roa.nprefixes == 0)
		return cm_err_set(err, CM_EINVAL, where, "ROA without prefix");
	return 0;
}

static int
parse_aspa(struct repo *r, char **w, int nw, const char *where,
    struct cm_err *err)
{
	struct aspa_item	*it;
	char			*save = NULL, *tok;

	if (r->naspas == MAX_OBJS)
		return cm_err_set(err, CM_ELIMIT, where, "too many ASPAs");
	it = &r->aspas[r->naspas];
	memset(it, 0, sizeof(*it));
	if (nw != 4 || (it->node = find_node(r, w[1])) < 0 ||
	    parse_u32(w[2], &it->aspa.customer) == -1)
		return cm_err_set(err, CM_EINVAL, where,
		    "expected: aspa CA CUSTOMER PROVIDER[,PROVIDER...]");
	if ((it->aspa.providers = calloc(strlen(w[3]),
	    sizeof(uint32_t))) == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	r->naspas++;
	for (tok = strtok_r(w[3], ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (parse_u32(tok,
		    &it->aspa.providers[it->aspa.nproviders++]) == -1)
			return cm_err_set(err, CM_EINVAL, where,
			    "bad provider AS %s", tok);
	return 0;
}

static int
parse_description(struct repo *r, const char *fn, struct cm_err *err)
{
	FILE	*f = fopen(fn, "r");
	char	 line[4096], where[600], *w[MAX_OBJS], *save, *p;
	int	 lineno = 0, rc = -1;

	if (f == NULL)
		return cm_err_set(err, CM_EIO, fn, "%s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		int nw = 0;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", fn, lineno);
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = strtok_r(line, " \t\r\n", &save); p != NULL &&
		    nw < MAX_OBJS; p = strtok_r(NULL, " \t\r\n", &save))
			w[nw++] = p;
		if (nw == 0)
			continue;
		if (strcmp(w[0], "ta") == 0 || strcmp(w[0], "ca") == 0) {
			if (parse_ca(r, w, nw, w[0][0] == 't', where,
			    err) == -1)
				goto out;
		} else if (strcmp(w[0], "roa") == 0) {
			if (parse_roa(r, w, nw, where, err) == -1)
				goto out;
		} else if (strcmp(w[0], "aspa") == 0) {
			if (parse_aspa(r, w, nw, where, err) == -1)
				goto out;
		} else {
			cm_err_set(err, CM_EINVAL, where,
			    "unknown statement %s", w[0]);
			goto out;
		}
	}
	if (r->nnodes == 0) {
		cm_err_set(err, CM_EINVAL, fn, "no TA");
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

/* Takes ownership of der. */
static int
add_file(struct repo *r, int node, const char *name, uint8_t *der,
    size_t len, struct cm_err *err)
{
	struct pubfile	*pf;

	if (r->nfiles == MAX_FILES) {
		free(der);
		return cm_err_set(err, CM_ELIMIT, name, "too many files");
	}
	pf = &r->files[r->nfiles++];
	pf->node = node;
	snprintf(pf->name, sizeof(pf->name), "%s", name);
	pf->der = der;
	pf->len = len;
	return 0;
}

static int
x509_der(X509 *x, uint8_t **der, size_t *len, struct cm_err *err)
{
	unsigned char	*p = NULL;
	int		 n = i2d_X509(x, &p);

	if (n <= 0)
		return cm_err_ssl(err, "cert", "i2d_X509");
	*der = malloc((size_t)n);
	if (*der != NULL)
		memcpy(*der, p, (size_t)n);
	OPENSSL_free(p);
	if (*der == NULL)
		return cm_err_set(err, CM_ENOMEM, "cert", "out of memory");
	*len = (size_t)n;
	return 0;
}

/* rsync URI of a file in the publication point of node i ("" = the dir). */
static void
uri_of(const struct repo *r, int i, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s/%s", r->base, r->nodes[i].name, file);
}

static int
issue_ca(struct repo *r, int i, EVP_PKEY *ta_key, struct cm_err *err)
{
	struct node		*n = &r->nodes[i];
	struct ca_cert_spec	 s;
	char			 crldp[512], repo[512], mft[512];
	char			 fn[NAME_MAX_LEN + 8];
	uint8_t			*der;
	size_t			 len = 0;

	memset(&s, 0, sizeof(s));
	if (n->parent < 0 && ta_key != NULL) {
		if ((n->key = hsm_key_wrap(ta_key)) == NULL)
			return cm_err_set(err, CM_ECRYPTO, n->name,
			    "cannot wrap the TA key");
	} else if (hsm_key_create(r->hsm, n->name, &n->key, err) == -1)
		return -1;
	uri_of(r, i, "", repo, sizeof(repo));
	snprintf(fn, sizeof(fn), "%s.mft", n->name);
	uri_of(r, i, fn, mft, sizeof(mft));
	s.subject_key = hsm_key_pubkey(n->key);
	s.sia_repo = repo;
	s.sia_mft = mft;
	s.sia_notify = r->notify;
	s.res = n->res;
	s.not_before = r->now - 3600;
	if (ca_cert_serial_random(s.serial, &s.serial_len, err) == -1)
		return -1;
	if (n->parent < 0) {
		s.kind = CA_CERT_TA;
		s.issuer_key = n->key;
		s.not_after = r->now + 3 * 365 * DAY;
		snprintf(fn, sizeof(fn), "%s.cer", n->name);
		snprintf(n->cert_uri, sizeof(n->cert_uri), "%s%s", r->base,
		    fn);
	} else {
		struct node *p = &r->nodes[n->parent];

		s.kind = CA_CERT_CA;
		s.issuer = p->cert;
		s.issuer_key = p->key;
		s.not_after = p->not_after - 30 * DAY;
		snprintf(fn, sizeof(fn), "%s.crl", p->name);
		uri_of(r, n->parent, fn, crldp, sizeof(crldp));
		s.crldp = crldp;
		s.aia = p->cert_uri;
		snprintf(fn, sizeof(fn), "%s.cer", n->name);
		{
			/* n->cert_uri is inside r: build the URI apart. */
			char tmp[sizeof(n->cert_uri)];

			uri_of(r, n->parent, fn, tmp, sizeof(tmp));
			memcpy(n->cert_uri, tmp, sizeof(tmp));
		}
	}
	n->not_after = s.not_after;
	if (ca_cert_issue(&s, &n->cert, err) == -1)
		return cm_err_wrap(err, n->name);
	if (x509_der(n->cert, &der, &len, err) == -1)
		return -1;
	snprintf(fn, sizeof(fn), "%s.cer", n->name);
	/* The TA cert lies outside every publication point: node -1. */
	return add_file(r, n->parent, fn, der, len, err);
}

/* Fills the common part of a signed object's spec; uri is the caller's. */
static int
sigobj_spec(struct repo *r, int i, const char *file, char *uri, size_t urilen,
    char *crl, size_t crllen, struct hsm_key **ee, struct ca_sigobj_spec *s,
    struct cm_err *err)
{
	struct node	*n = &r->nodes[i];
	char		 fn[NAME_MAX_LEN + 8];

	memset(s, 0, sizeof(*s));
	if (hsm_key_create(r->hsm, file, ee, err) == -1)
		return -1;
	uri_of(r, i, file, uri, urilen);
	snprintf(fn, sizeof(fn), "%s.crl", n->name);
	uri_of(r, i, fn, crl, crllen);
	s->issuer = n->cert;
	s->issuer_key = n->key;
	s->ee_key = hsm_key_pubkey(*ee);
	if (ca_cert_serial_random(s->serial, &s->serial_len, err) == -1)
		return -1;
	s->not_before = r->now - 3600;
	s->not_after = r->now + 14 * DAY;
	s->signing_time = r->now - 300;
	s->object_uri = uri;
	s->crl_uri = crl;
	s->issuer_uri = n->cert_uri;
	return 0;
}

static int
issue_roa(struct repo *r, size_t k, struct cm_err *err)
{
	struct roa_item		*it = &r->roas[k];
	struct node		*n = &r->nodes[it->node];
	struct ca_sigobj_spec	 s;
	struct hsm_key		*ee = NULL;
	char			 fn[NAME_MAX_LEN + 8], uri[512], crl[512];
	uint8_t			*der;
	size_t			 len = 0;
	int			 rc = -1;

	snprintf(fn, sizeof(fn), "as%u-%zu.roa", it->roa.asid, k + 1);
	if (sigobj_spec(r, it->node, fn, uri, sizeof(uri), crl, sizeof(crl),
	    &ee, &s, err) == -1)
		goto out;
	if (ca_sigobj_roa(&s, &it->roa, &der, &len, NULL, err) == -1)
		goto out;
	if (it->revoked) {
		struct ca_crl_entry *e = &n->revoked[n->nrevoked++];

		memcpy(e->serial, s.serial, s.serial_len);
		e->serial_len = s.serial_len;
		e->revoked = r->now - 600;
	}
	rc = add_file(r, it->node, fn, der, len, err);
out:
	hsm_key_destroy(ee, NULL);
	return rc;
}

static int
issue_aspa(struct repo *r, size_t k, struct cm_err *err)
{
	struct aspa_item	*it = &r->aspas[k];
	struct ca_sigobj_spec	 s;
	struct hsm_key		*ee = NULL;
	char			 fn[NAME_MAX_LEN + 8], uri[512], crl[512];
	uint8_t			*der;
	size_t			 len = 0;
	int			 rc = -1;

	snprintf(fn, sizeof(fn), "as%u.asa", it->aspa.customer);
	if (sigobj_spec(r, it->node, fn, uri, sizeof(uri), crl, sizeof(crl),
	    &ee, &s, err) == -1)
		goto out;
	if (ca_sigobj_aspa(&s, &it->aspa, &der, &len, NULL, err) == -1)
		goto out;
	rc = add_file(r, it->node, fn, der, len, err);
out:
	hsm_key_destroy(ee, NULL);
	return rc;
}

static int
issue_crl(struct repo *r, int i, struct cm_err *err)
{
	struct node		*n = &r->nodes[i];
	struct ca_crl_spec	 s;
	X509_CRL		*crl = NULL;
	unsigned char		*p = NULL;
	char			 fn[NAME_MAX_LEN + 8];
	uint8_t			*der;
	int			 len;

	memset(&s, 0, sizeof(s));
	s.issuer = n->cert;
	s.issuer_key = n->key;
	s.number = 1;
	s.this_update = r->now - 300;
	s.next_update = r->now + DAY;
	s.entries = n->revoked;
	s.nentries = n->nrevoked;
	if (ca_crl_issue(&s, &crl, err) == -1)
		return cm_err_wrap(err, n->name);
	len = i2d_X509_CRL(crl, &p);
	X509_CRL_free(crl);
	if (len <= 0)
		return cm_err_ssl(err, n->name, "i2d_X509_CRL");
	der = malloc((size_t)len);
	if (der == NULL) {
		OPENSSL_free(p);
		return cm_err_set(err, CM_ENOMEM, n->name, "out of memory");
	}
	memcpy(der, p, (size_t)len);
	OPENSSL_free(p);
	snprintf(fn, sizeof(fn), "%s.crl", n->name);
	return add_file(r, i, fn, der, (size_t)len, err);
}

/* The manifest lists every file added so far for node i. */
static int
issue_mft(struct repo *r, int i, struct cm_err *err)
{
	struct node		*n = &r->nodes[i];
	struct ca_sigobj_spec	 s;
	struct ca_mft		 m;
	struct hsm_key		*ee = NULL;
	char			 fn[NAME_MAX_LEN + 8], uri[512], crl[512];
	uint8_t			*der;
	size_t			 len = 0;
	int			 rc = -1;

	memset(&m, 0, sizeof(m));
	if ((m.files = calloc(r->nfiles, sizeof(*m.files))) == NULL)
		return cm_err_set(err, CM_ENOMEM, n->name, "out of memory");
	for (size_t k = 0; k < r->nfiles; k++) {
		if (r->files[k].node != i)
			continue;
		snprintf(m.files[m.nfiles].name, sizeof(m.files[0].name),
		    "%s", r->files[k].name);
		cm_sha256(r->files[k].der, r->files[k].len,
		    m.files[m.nfiles++].hash);
	}
	ca_mft_set_number(&m, 1);
	m.this_update = r->now - 300;
	m.next_update = r->now + DAY;
	snprintf(fn, sizeof(fn), "%s.mft", n->name);
	if (sigobj_spec(r, i, fn, uri, sizeof(uri), crl, sizeof(crl), &ee, &s,
	    err) == -1)
		goto out;
	if (n->mft_expired) {
		/* Valid yesterday, and expired an hour ago. */
		m.this_update = r->now - 2 * DAY;
		m.next_update = r->now - 3600;
		s.signing_time = m.this_update;
	}
	if (ca_sigobj_mft(&s, &m, &der, &len, NULL, err) == -1)
		goto out;
	rc = add_file(r, i, fn, der, len, err);
out:
	hsm_key_destroy(ee, NULL);
	free(m.files);
	return rc;
}

static int
write_files(struct repo *r, struct cm_err *err)
{
	char	path[4096];

	for (size_t i = 0; i < r->nnodes; i++) {
		snprintf(path, sizeof(path), "%s/%s", r->outdir,
		    r->nodes[i].name);
		if (cm_mkdirs(path, 0755, err) == -1)
			return -1;
	}
	for (size_t k = 0; k < r->nfiles; k++) {
		struct pubfile *pf = &r->files[k];

		if (pf->node < 0)
			snprintf(path, sizeof(path), "%s/%s", r->outdir,
			    pf->name);
		else
			snprintf(path, sizeof(path), "%s/%s/%s", r->outdir,
			    r->nodes[pf->node].name, pf->name);
		if (cm_file_write_atomic(path, pf->der, pf->len, 0644,
		    err) == -1)
			return -1;
	}
	return 0;
}

static int
write_tal(struct repo *r, const char *talfile, struct cm_err *err)
{
	const char	*comments[] = { "Cairn test repository (mkrepo)" };
	const char	*uris[1];
	char		*tal = NULL;
	int		 rc;

	uris[0] = r->nodes[0].cert_uri;
	if (ca_tal_write(comments, 1, uris, 1, hsm_key_pubkey(r->nodes[0].key),
	    &tal, err) == -1)
		return -1;
	rc = cm_file_write_atomic(talfile, tal, strlen(tal), 0644, err);
	free(tal);
	return rc;
}

/* n's resources with inherited families taken from the parent's (RFC 3779). */
static int
resolve(struct node *n, const struct node *p, struct cm_err *err)
{
	static const enum ca_res_family fams[] = { CA_RES_AS, CA_RES_V4,
	    CA_RES_V6 };
	size_t	i, k;

	if ((n->eff = ca_res_dup(n->res)) == NULL)
		return cm_err_set(err, CM_ENOMEM, n->name, "out of memory");
	for (i = 0; i < 3; i++) {
		if (!ca_res_is_inherit(n->res, fams[i]))
			continue;
		if (p == NULL)
			return cm_err_set(err, CM_EINVAL, n->name,
			    "a TA cannot inherit");
		ca_res_set_inherit(n->eff, fams[i], 0);
		for (k = 0; k < ca_res_count(p->eff, fams[i]); k++)
			if (ca_res_add(n->eff, fams[i], ca_res_get(p->eff,
			    fams[i], k), err) == -1)
				return -1;
	}
	return 0;
}

/* Which CAs a validator must accept (see the comment at the top). */
static int
mark_valid(struct repo *r, struct cm_err *err)
{
	r->nodes[0].valid = 1;
	if (resolve(&r->nodes[0], NULL, err) == -1)
		return -1;
	for (size_t i = 1; i < r->nnodes; i++) {
		struct node	*n = &r->nodes[i], *p = &r->nodes[n->parent];
		int		 in;

		if (resolve(n, p, err) == -1 ||
		    (in = ca_res_contains(p->eff, n->eff, err)) == -1)
			return -1;

		n->valid = p->valid && !p->mft_expired && in;
	}
	return 0;
}

static int
roa_valid(const struct repo *r, const struct roa_item *it)
{
	const struct node *n = &r->nodes[it->node];

	if (!n->valid || n->mft_expired || it->revoked)
		return 0;
	for (size_t i = 0; i < it->roa.nprefixes; i++) {
		const struct ca_roa_prefix *p = &it->roa.prefixes[i];

		if (!ca_res_has_prefix(n->eff, p->afi == CA_AFI_IPV4 ?
		    CA_RES_V4 : CA_RES_V6, p->addr, p->plen))
			return 0;
	}
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
print_vrps(const struct repo *r)
{
	char	**lines, addr[INET6_ADDRSTRLEN];
	size_t	  n = 0, cap = 0;
	int	  rc = -1;

	for (size_t k = 0; k < r->nroas; k++)
		cap += r->roas[k].roa.nprefixes;
	if ((lines = calloc(cap + 1, sizeof(*lines))) == NULL)
		return -1;
	for (size_t k = 0; k < r->nroas; k++) {
		const struct roa_item *it = &r->roas[k];

		if (!roa_valid(r, it))
			continue;
		for (size_t i = 0; i < it->roa.nprefixes; i++) {
			const struct ca_roa_prefix *p = &it->roa.prefixes[i];

			inet_ntop(p->afi == CA_AFI_IPV4 ? AF_INET : AF_INET6,
			    p->addr, addr, sizeof(addr));
			if (asprintf(&lines[n], "AS%u %s/%u %u", it->roa.asid,
			    addr, p->plen, p->maxlen) == -1)
				goto out;
			n++;
		}
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(lines[i], lines[i - 1]) != 0)
			printf("%s\n", lines[i]);
	rc = fflush(stdout) == 0 ? 0 : -1;
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return rc;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The ASPAs a validator must show, "AS<customer> <p>,<p>..." (providers
 * sorted, unique) sorted as by LC_ALL=C sort: those of valid CAs with a
 * current manifest that hold the customer AS.
 */
static int
print_aspas(const struct repo *r)
{
	char	**lines, *p;
	size_t	  n = 0;
	int	  rc = -1;

	if ((lines = calloc(r->naspas + 1, sizeof(*lines))) == NULL)
		return -1;
	for (size_t k = 0; k < r->naspas; k++) {
		const struct aspa_item	*it = &r->aspas[k];
		const struct node	*nd = &r->nodes[it->node];
		uint32_t		*pv = it->aspa.providers;
		size_t			 np = it->aspa.nproviders, len;

		if (!nd->valid || nd->mft_expired ||
		    !ca_res_has_as(nd->eff, it->aspa.customer))
			continue;
		qsort(pv, np, sizeof(*pv), cmp_u32);
		len = 16 + 11 * np;
		if ((lines[n] = p = malloc(len)) == NULL)
			goto out;
		p += snprintf(p, len, "AS%u ", it->aspa.customer);
		for (size_t i = 0; i < np; i++)
			if (i == 0 || pv[i] != pv[i - 1])
				p += snprintf(p, len - (size_t)(p - lines[n]),
				    "%s%u", i == 0 ? "" : ",", pv[i]);
		n++;
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", lines[i]);
	rc = fflush(stdout) == 0 ? 0 : -1;
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return rc;
}

static int
build(struct repo *r, EVP_PKEY *ta_key, const char *talfile,
    struct cm_err *err)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (issue_ca(r, (int)i, ta_key, err) == -1)
			return -1;
	for (size_t k = 0; k < r->nroas; k++)
		if (issue_roa(r, k, err) == -1)
			return -1;
	for (size_t k = 0; k < r->naspas; k++)
		if (issue_aspa(r, k, err) == -1)
			return -1;
	/* The CRL first: the manifest lists it. */
	for (size_t i = 0; i < r->nnodes; i++)
		if (issue_crl(r, (int)i, err) == -1 ||
		    issue_mft(r, (int)i, err) == -1)
			return -1;
	if (write_files(r, err) == -1 || write_tal(r, talfile, err) == -1 ||
	    mark_valid(r, err) == -1)
		return -1;
	return 0;
}

static EVP_PKEY *
load_key(const char *fn, struct cm_err *err)
{
	FILE		*f = fopen(fn, "r");
	EVP_PKEY	*k;

	if (f == NULL) {
		cm_err_set(err, CM_EIO, fn, "%s", strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		cm_err_ssl(err, fn, "not a PEM private key");
	return k;
}

static void
repo_free(struct repo *r)
{
	for (size_t i = 0; i < r->nnodes; i++) {
		ca_res_free(r->nodes[i].res);
		ca_res_free(r->nodes[i].eff);
		X509_free(r->nodes[i].cert);
		hsm_key_free(r->nodes[i].key);
	}
	for (size_t k = 0; k < r->nroas; k++)
		free(r->roas[k].roa.prefixes);
	for (size_t k = 0; k < r->naspas; k++)
		free(r->aspas[k].aspa.providers);
	for (size_t k = 0; k < r->nfiles; k++)
		free(r->files[k].der);
	hsm_close(r->hsm);
}

int
main(int argc, char *argv[])
{
	static struct repo	 r;	/* large; not on the stack */
	struct cm_err		 err;
	const char		*talfile = NULL, *keyfile = NULL;
	EVP_PKEY		*ta_key = NULL;
	int			 c, rc = 1, only = 0;

	cm_err_clear(&err);
	while ((c = getopt(argc, argv, "aeb:k:n:o:t:")) != -1) {
		switch (c) {
		case 'a':
		case 'e': only = c; break;
		case 'b': r.base = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'n': r.notify = optarg; break;
		case 'o': r.outdir = optarg; break;
		case 't': talfile = optarg; break;
		default: usage(); return 2;
		}
	}
	if (only != 0 && optind == argc - 1) {
		/* Expectations only: parse, decide validity, sign nothing. */
		if ((r.hsm = hsm_open_mem()) == NULL) {
			fprintf(stderr, "mkrepo: out of memory\n");
			return 1;
		}
		if (parse_description(&r, argv[optind], &err) == -1 ||
		    mark_valid(&r, &err) == -1)
			goto out;
		if ((only == 'e' ? print_vrps(&r) : print_aspas(&r)) == -1) {
			cm_err_set(&err, CM_EIO, "stdout", "cannot print");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (optind != argc - 1 || r.base == NULL || r.outdir == NULL ||
	    talfile == NULL || strncmp(r.base, "rsync://", 8) != 0 ||
	    r.base[strlen(r.base) - 1] != '/') {
		usage();
		return 2;
	}
	r.now = time(NULL);
	if ((r.hsm = hsm_open_mem()) == NULL) {
		fprintf(stderr, "mkrepo: out of memory\n");
		return 1;
	}
	if (keyfile != NULL && (ta_key = load_key(keyfile, &err)) == NULL)
		goto out;
	if (parse_description(&r, argv[optind], &err) == -1 ||
	    build(&r, ta_key, talfile, &err) == -1)
		goto out;
	if (print_vrps(&r) == -1) {
		cm_err_set(&err, CM_EIO, "stdout", "cannot print the VRPs");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "mkrepo: %s\n", err.msg);
	EVP_PKEY_free(ta_key);
	repo_free(&r);
	return rc;
}
