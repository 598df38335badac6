/*
 * ca_crl: RFC 6487 §5 CRLs (updated by RFC 9829), issued through the signer
 * interface and parsed strictly.
 *
 * The parser decodes the bytes twice: once through a view of the
 * CertificateList that has no cached encodings (declared below), which
 * gives the DER check, the inner signature algorithm and the raw shape of
 * the optional fields; and once as OpenSSL's X509_CRL, which the caller
 * keeps for signature checks and lookups.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/crl.h"
#include "ca/sign.h"
#include "ca/x509.h"

/* Far above any CRL a CA of ours issues; bounds what a parser accepts. */
#define CRL_MAX_SIZE	(64u * 1024 * 1024)

/* RFC 5280 §5.1: TBSCertList, without OpenSSL's cached encodings. */
typedef struct {
	ASN1_INTEGER		*version;	/* OPTIONAL; v2 = 1 */
	X509_ALGOR		*signature;
	X509_NAME		*issuer;
	ASN1_TIME		*thisUpdate;
	ASN1_TIME		*nextUpdate;	/* OPTIONAL */
	STACK_OF(X509_REVOKED)	*revoked;	/* OPTIONAL */
	STACK_OF(X509_EXTENSION) *extensions;	/* [0] EXPLICIT OPTIONAL */
} CRL_TBSView;

typedef struct {
	CRL_TBSView		*tbs;
	X509_ALGOR		*sigalg;
	ASN1_BIT_STRING		*signature;
} CRL_View;

ASN1_SEQUENCE(CRL_TBSView) = {
	ASN1_OPT(CRL_TBSView, version, ASN1_INTEGER),
	ASN1_SIMPLE(CRL_TBSView, signature, X509_ALGOR),
	ASN1_SIMPLE(CRL_TBSView, issuer, X509_NAME),
	ASN1_SIMPLE(CRL_TBSView, thisUpdate, ASN1_TIME),
	ASN1_OPT(CRL_TBSView, nextUpdate, ASN1_TIME),
	ASN1_SEQUENCE_OF_OPT(CRL_TBSView, revoked, X509_REVOKED),
	ASN1_EXP_SEQUENCE_OF_OPT(CRL_TBSView, extensions, X509_EXTENSION, 0),
} static_ASN1_SEQUENCE_END(CRL_TBSView)

ASN1_SEQUENCE(CRL_View) = {
	ASN1_SIMPLE(CRL_View, tbs, CRL_TBSView),
	ASN1_SIMPLE(CRL_View, sigalg, X509_ALGOR),
	ASN1_SIMPLE(CRL_View, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CRL_View)

/* ---- issuing ---- */

static int
check_spec(const struct ca_crl_spec *s, struct cm_err *err)
{
	EVP_PKEY	*pk;

	if (s->issuer == NULL || s->issuer_key == NULL ||
	    (s->entries == NULL && s->nentries > 0))
		return cm_err_set(err, CM_EINVAL, "CRL", "incomplete CRL spec");
	pk = X509_get0_pubkey(s->issuer);
	if (pk == NULL || EVP_PKEY_eq(pk, hsm_key_pubkey(s->issuer_key)) != 1)
		return cm_err_set(err, CM_EINVAL, "CRL",
		    "issuer key does not match the issuer certificate");
	if (X509_get0_subject_key_id(s->issuer) == NULL)
		return cm_err_set(err, CM_EINVAL, "CRL",
		    "issuer certificate has no subjectKeyIdentifier");
	if (s->next_update <= s->this_update)
		return cm_err_set(err, CM_EINVAL, "CRL",
		    "nextUpdate must be after thisUpdate");
	for (size_t i = 0; i < s->nentries; i++) {
		const struct ca_crl_entry *e = &s->entries[i];

		/* 20 octets in DER, counting a sign octet. */
		if (e->serial_len == 0 || e->serial_len > 20 ||
		    e->serial[0] == 0 ||
		    (e->serial_len == 20 && (e->serial[0] & 0x80)))
			return cm_err_set(err, CM_EINVAL, "CRL",
			    "entry %zu: serial must be positive, at most 20 "
			    "octets in DER, without leading zero", i);
	}
	return 0;
}

static int
add_entry(X509_CRL *crl, const struct ca_crl_entry *e)
{
	X509_REVOKED	*r = X509_REVOKED_new();
	ASN1_INTEGER	*sn = NULL;
	ASN1_TIME	*t = NULL;
	BIGNUM		*bn = BN_bin2bn(e->serial, (int)e->serial_len, NULL);
	int		 ok;

	ok = r != NULL && bn != NULL &&
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    (t = ASN1_TIME_set(NULL, e->revoked)) != NULL &&
	    X509_REVOKED_set_serialNumber(r, sn) &&
	    X509_REVOKED_set_revocationDate(r, t) &&
	    X509_CRL_add0_revoked(crl, r);
	if (ok)
		r = NULL;
	X509_REVOKED_free(r);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	BN_free(bn);
	return ok;
}

/* AKI (keyIdentifier only) and CRLNumber, both non-critical. */
static int
add_exts(X509_CRL *crl, X509 *issuer, uint64_t number)
{
	AUTHORITY_KEYID	*aki = AUTHORITY_KEYID_new();
	ASN1_INTEGER	*num = ASN1_INTEGER_new();
	int		 ok;

	ok = aki != NULL && num != NULL &&
	    (aki->keyid = ASN1_OCTET_STRING_dup(
	    X509_get0_subject_key_id(issuer))) != NULL &&
	    ASN1_INTEGER_set_uint64(num, number) &&
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0,
	    0) == 1 &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(num);
	return ok;
}

static int
build(const struct ca_crl_spec *s, X509_CRL *crl)
{
	ASN1_TIME	*tu = NULL, *nu = NULL;
	int		 ok;

	/* ASN1_TIME_set: UTCTime through 2049, then GeneralizedTime. */
	ok = X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->issuer)) &&
	    (tu = ASN1_TIME_set(NULL, s->this_update)) != NULL &&
	    (nu = ASN1_TIME_set(NULL, s->next_update)) != NULL &&
	    X509_CRL_set1_lastUpdate(crl, tu) &&
	    X509_CRL_set1_nextUpdate(crl, nu);
	for (size_t i = 0; ok && i < s->nentries; i++)
		ok = add_entry(crl, &s->entries[i]);
	ok = ok && X509_CRL_sort(crl) && add_exts(crl, s->issuer, s->number);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	return ok;
}

int
ca_crl_issue(const struct ca_crl_spec *spec, X509_CRL **out,
    struct cm_err *err)
{
	X509_CRL	*crl = NULL;
	struct ca_crl	*back = NULL;
	uint8_t		*der = NULL;
	int		 len, rc = -1;

	if (check_spec(spec, err) == -1)
		return -1;
	if ((crl = X509_CRL_new()) == NULL || !build(spec, crl)) {
		cm_err_ssl(err, "CRL", "cannot build CRL");
		goto out;
	}
	if (ca_sign_crl(crl, spec->issuer_key, err) == -1)
		goto out;
	/* What we publish must pass our own strict parser. */
	if ((len = i2d_X509_CRL(crl, &der)) <= 0) {
		cm_err_ssl(err, "CRL", "cannot encode CRL");
		goto out;
	}
	if (ca_crl_parse("issued CRL", der, (size_t)len, &back, err) == -1)
		goto out;
	*out = crl;
	crl = NULL;
	rc = 0;
out:
	ca_crl_free(back);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	return rc;
}

/* ---- parsing ---- */

static int
check_entries(const char *fn, const STACK_OF(X509_REVOKED) *rv,
    struct cm_err *err)
{
	const X509_REVOKED	*r;
	const ASN1_INTEGER	*sn;
	time_t			 t;

	/* RFC 5280 §5.1.2.6: absent, not empty, when nothing is revoked. */
	if (rv != NULL && sk_X509_REVOKED_num(rv) == 0)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 §5.1.2.6: "
		    "empty revokedCertificates must be absent");
	for (int i = 0; i < sk_X509_REVOKED_num(rv); i++) {
		r = sk_X509_REVOKED_value(rv, i);
		sn = X509_REVOKED_get0_serialNumber(r);
		if (ca_x509_check_int(sn, 1) == -1)
			return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 "
			    "§4.1.2.2: entry %d: serial must be positive and "
			    "at most 20 octets", i);
		if (X509_REVOKED_get0_extensions(r) != NULL)
			return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: "
			    "entry %d has CRL entry extensions", i);
		if (ca_x509_check_time(fn, "revocationDate",
		    X509_REVOKED_get0_revocationDate(r), &t, err) == -1)
			return -1;
	}
	return 0;
}

static int
check_aki(const char *fn, const X509_EXTENSION *e, struct ca_crl *c,
    struct cm_err *err)
{
	AUTHORITY_KEYID	*aki = X509V3_EXT_d2i((X509_EXTENSION *)e);
	int		 rc = -1;

	if (aki == NULL) {
		cm_err_ssl(err, fn, "RFC 6487 §5: cannot decode AKI");
		goto out;
	}
	if (aki->keyid == NULL || aki->issuer != NULL || aki->serial != NULL) {
		cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.8.3: AKI must "
		    "hold a keyIdentifier only");
		goto out;
	}
	if (aki->keyid->length != 20) {
		cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.8.3: AKI must be "
		    "a 20-octet SHA-1 key identifier");
		goto out;
	}
	memcpy(c->aki, aki->keyid->data, 20);
	rc = 0;
out:
	AUTHORITY_KEYID_free(aki);
	return rc;
}

/*
 * RFC 9829: present, non-critical, non-negative, at most 20 octets.  Numbers
 * above 2^64 - 1 are valid but are reported as UINT64_MAX.
 */
static int
check_number(const char *fn, const X509_EXTENSION *e, struct ca_crl *c,
    struct cm_err *err)
{
	ASN1_INTEGER	*n = X509V3_EXT_d2i((X509_EXTENSION *)e);
	int		 rc = -1;

	if (n == NULL) {
		cm_err_ssl(err, fn, "RFC 9829: cannot decode CRLNumber");
		goto out;
	}
	if (ca_x509_check_int(n, 0) == -1) {
		cm_err_set(err, CM_EINVAL, fn, "RFC 9829: CRLNumber must be "
		    "non-negative and at most 20 octets");
		goto out;
	}
	if (!ASN1_INTEGER_get_uint64(&c->number, n))
		c->number = UINT64_MAX;
	rc = 0;
out:
	ASN1_INTEGER_free(n);
	return rc;
}

/* RFC 6487 §5: exactly AKI and CRLNumber, both non-critical. */
static int
check_exts(const char *fn, const STACK_OF(X509_EXTENSION) *exts,
    struct ca_crl *c, struct cm_err *err)
{
	const X509_EXTENSION	*e;
	int			 nid, seen_aki = 0, seen_num = 0;

	if (sk_X509_EXTENSION_num(exts) != 2)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: need "
		    "exactly 2 CRL extensions (AKI, CRLNumber), have %d",
		    sk_X509_EXTENSION_num(exts));
	for (int i = 0; i < 2; i++) {
		e = sk_X509_EXTENSION_value(exts, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(
		    (X509_EXTENSION *)e));
		if (X509_EXTENSION_get_critical(e))
			return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: "
			    "CRL extension %d must not be critical", i);
		if (nid == NID_authority_key_identifier && !seen_aki++) {
			if (check_aki(fn, e, c, err) == -1)
				return -1;
		} else if (nid == NID_crl_number && !seen_num++) {
			if (check_number(fn, e, c, err) == -1)
				return -1;
		} else
			return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: "
			    "unexpected or repeated CRL extension %d", i);
		if (ca_x509_check_ext_der(fn, e, err) == -1)
			return -1;
	}
	return 0;
}

/* Everything visible in the encoding itself. */
static int
check_view(const char *fn, const CRL_View *v, struct ca_crl *c,
    struct cm_err *err)
{
	const CRL_TBSView	*t = v->tbs;

	if (t->version == NULL || ASN1_INTEGER_get(t->version) != 1)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: CRL "
		    "version must be v2");
	if (ca_x509_check_alg(fn, t->signature, "CRL tbs signature", err) == -1 ||
	    ca_x509_check_alg(fn, v->sigalg, "CRL signatureAlgorithm", err) == -1)
		return -1;
	if (ca_x509_check_name(fn, "CRL issuer", t->issuer, err) == -1)
		return -1;
	if (t->nextUpdate == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: CRL "
		    "nextUpdate is missing");
	if (ca_x509_check_time(fn, "thisUpdate", t->thisUpdate,
	    &c->this_update, err) == -1 ||
	    ca_x509_check_time(fn, "nextUpdate", t->nextUpdate,
	    &c->next_update, err) == -1)
		return -1;
	if (c->next_update <= c->this_update)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 §5.1.2.5: "
		    "nextUpdate is not after thisUpdate");
	if (check_entries(fn, t->revoked, err) == -1)
		return -1;
	if (t->extensions == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §5: CRL has "
		    "no extensions");
	return check_exts(fn, t->extensions, c, err);
}

int
ca_crl_parse(const char *fn, const uint8_t *der, size_t len,
    struct ca_crl **out, struct cm_err *err)
{
	CRL_View		*v = NULL;
	struct ca_crl		*c = NULL;
	const unsigned char	*p = der;
	int			 rc = -1;

	if (len > CRL_MAX_SIZE)
		return cm_err_set(err, CM_EINVAL, fn, "CRL larger than %u "
		    "bytes", CRL_MAX_SIZE);
	v = ca_asn1_d2i(der, len, ASN1_ITEM_rptr(CRL_View), fn, "CRL", err);
	if (v == NULL) {
		/* Undecodable input is invalid input, whatever OpenSSL says. */
		if (err != NULL)
			err->code = CM_EINVAL;
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	if (check_view(fn, v, c, err) == -1)
		goto out;
	c->crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (c->crl == NULL || p != der + len) {
		cm_err_ssl(err, fn, "failed to parse CRL");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	ca_crl_free(c);
	ASN1_item_free((ASN1_VALUE *)v, ASN1_ITEM_rptr(CRL_View));
	return rc;
}

void
ca_crl_free(struct ca_crl *c)
{
	if (c == NULL)
		return;
	X509_CRL_free(c->crl);
	free(c);
}
