/*
 * ca_csr: strict PKCS#10 parsing (RFC 6487 §6, RFC 8209 §3.2) and building.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/csr.h"
#include "ca/sign.h"

#define OID_CA_REPOSITORY	"1.3.6.1.5.5.7.48.5"
#define OID_RPKI_MANIFEST	"1.3.6.1.5.5.7.48.10"
#define OID_RPKI_NOTIFY		"1.3.6.1.5.5.7.48.13"
#define OID_BGPSEC_ROUTER	"1.3.6.1.5.5.7.3.30"

void
ca_csr_free(struct ca_csr *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(c->key);
	free(c->sia_repo);
	free(c->sia_mft);
	free(c->sia_notify);
	free(c);
}

static int
oid_is(const ASN1_OBJECT *o, const char *oid)
{
	char buf[80];

	return OBJ_obj2txt(buf, sizeof(buf), o, 1) > 0 && strcmp(buf, oid) == 0;
}

/* An IA5String URI of the given scheme with no control characters. */
static char *
uri_dup(const GENERAL_NAME *gn, const char *scheme)
{
	const ASN1_IA5STRING	*s;
	char			*out;
	int			 i;

	if (gn->type != GEN_URI)
		return NULL;
	s = gn->d.uniformResourceIdentifier;
	if (s->length <= (int)strlen(scheme) || s->length > 4096 ||
	    strncmp((const char *)s->data, scheme, strlen(scheme)) != 0)
		return NULL;
	for (i = 0; i < s->length; i++)
		if (s->data[i] <= 0x20 || s->data[i] >= 0x7f)
			return NULL;
	if ((out = malloc((size_t)s->length + 1)) == NULL)
		return NULL;
	memcpy(out, s->data, (size_t)s->length);
	out[s->length] = '\0';
	return out;
}

static int
parse_sia(const char *who, X509_EXTENSION *ext, struct ca_csr *c,
    struct cm_err *err)
{
	AUTHORITY_INFO_ACCESS	*sia;
	ACCESS_DESCRIPTION	*ad;
	char			**slot, *u;
	const char		*scheme;
	int			 i, rc = -1;
	size_t			 rl;

	if (X509_EXTENSION_get_critical(ext))
		return cm_err_set(err, CM_EINVAL, who, "SIA must not be critical");
	if ((sia = X509V3_EXT_d2i(ext)) == NULL)
		return cm_err_set(err, CM_EINVAL, who, "SIA does not decode");
	for (i = 0; i < sk_ACCESS_DESCRIPTION_num(sia); i++) {
		ad = sk_ACCESS_DESCRIPTION_value(sia, i);
		scheme = "rsync://";
		if (oid_is(ad->method, OID_CA_REPOSITORY))
			slot = &c->sia_repo;
		else if (oid_is(ad->method, OID_RPKI_MANIFEST))
			slot = &c->sia_mft;
		else if (oid_is(ad->method, OID_RPKI_NOTIFY)) {
			slot = &c->sia_notify;
			scheme = "https://";
		} else {
			cm_err_set(err, CM_EINVAL, who,
			    "SIA has an access method not allowed in a CA request");
			goto out;
		}
		if (*slot != NULL) {
			cm_err_set(err, CM_EINVAL, who,
			    "SIA repeats an access method");
			goto out;
		}
		if ((u = uri_dup(ad->location, scheme)) == NULL) {
			cm_err_set(err, CM_EINVAL, who,
			    "SIA location is not a clean %s URI", scheme);
			goto out;
		}
		*slot = u;
	}
	if (c->sia_repo == NULL || c->sia_mft == NULL) {
		cm_err_set(err, CM_EINVAL, who,
		    "SIA lacks caRepository or rpkiManifest");
		goto out;
	}
	rl = strlen(c->sia_repo);
	if (c->sia_repo[rl - 1] != '/') {
		cm_err_set(err, CM_EINVAL, who,
		    "caRepository %s does not end in '/'", c->sia_repo);
		goto out;
	}
	if (strncmp(c->sia_mft, c->sia_repo, rl) != 0 ||
	    strchr(c->sia_mft + rl, '/') != NULL ||
	    strlen(c->sia_mft) < rl + 5 ||
	    strcmp(c->sia_mft + strlen(c->sia_mft) - 4, ".mft") != 0) {
		cm_err_set(err, CM_EINVAL, who,
		    "rpkiManifest %s is not a .mft directly in %s", c->sia_mft,
		    c->sia_repo);
		goto out;
	}
	rc = 0;
out:
	AUTHORITY_INFO_ACCESS_free(sia);
	return rc;
}

static int
check_key(const char *who, enum ca_csr_kind kind, EVP_PKEY *key,
    struct cm_err *err)
{
	BIGNUM	*e = NULL;
	char	 group[32];
	size_t	 glen;
	int	 ok;

	if (kind == CA_CSR_CA) {
		if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
		    EVP_PKEY_get_bits(key) != 2048)
			return cm_err_set(err, CM_EINVAL, who,
			    "key is not RSA-2048 (RFC 7935)");
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e))
			return cm_err_set(err, CM_EINVAL, who, "no RSA exponent");
		ok = BN_is_word(e, 65537);
		BN_free(e);
		if (!ok)
			return cm_err_set(err, CM_EINVAL, who,
			    "RSA exponent is not 65537 (RFC 7935)");
		return 0;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen) || strcmp(group, "prime256v1") != 0)
		return cm_err_set(err, CM_EINVAL, who,
		    "router key is not ECDSA P-256 (RFC 8208)");
	return 0;
}

static int
check_sigalg(const char *who, enum ca_csr_kind kind, X509_REQ *req,
    struct cm_err *err)
{
	const X509_ALGOR	*alg;
	const ASN1_OBJECT	*obj;
	const void		*pval;
	int			 ptype;

	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (kind == CA_CSR_CA) {
		if (OBJ_obj2nid(obj) != NID_sha256WithRSAEncryption)
			return cm_err_set(err, CM_EINVAL, who,
			    "signature algorithm is not sha256WithRSAEncryption");
		/* RFC 4055: the NULL parameter may be present or absent. */
		if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
			return cm_err_set(err, CM_EINVAL, who,
			    "signature algorithm has parameters");
	} else if (OBJ_obj2nid(obj) != NID_ecdsa_with_SHA256 ||
	    ptype != V_ASN1_UNDEF)
		return cm_err_set(err, CM_EINVAL, who,
		    "signature algorithm is not ecdsa-with-SHA256 without "
		    "parameters");
	return 0;
}

static int
parse_exts(const char *who, X509_REQ *req, struct ca_csr *c,
    struct cm_err *err)
{
	STACK_OF(X509_EXTENSION)	*exts;
	X509_EXTENSION			*ext;
	BASIC_CONSTRAINTS		*bc;
	ASN1_BIT_STRING			*ku;
	EXTENDED_KEY_USAGE		*eku;
	ASN1_OCTET_STRING		*ski;
	int				 i, nid = 0, rc = -1, seen[5] = { 0 };
	long				 want_ku;

	if (X509_REQ_get_attr_count(req) == 0)
		return c->kind == CA_CSR_CA ? cm_err_set(err, CM_EINVAL, who,
		    "no extensionRequest (SIA is required)") : 0;
	if (X509_REQ_get_attr_count(req) != 1 ||
	    X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) != 0)
		return cm_err_set(err, CM_EINVAL, who,
		    "attributes other than one extensionRequest");
	if ((exts = X509_REQ_get_extensions(req)) == NULL)
		return cm_err_set(err, CM_EINVAL, who,
		    "extensionRequest does not decode");
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		ext = sk_X509_EXTENSION_value(exts, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		switch (nid) {
		case NID_basic_constraints:
			if (seen[0]++ || c->kind != CA_CSR_CA)
				goto dup;
			bc = X509V3_EXT_d2i(ext);
			if (bc == NULL || !bc->ca || bc->pathlen != NULL ||
			    !X509_EXTENSION_get_critical(ext)) {
				BASIC_CONSTRAINTS_free(bc);
				cm_err_set(err, CM_EINVAL, who, "basic constraints "
				    "must be critical, cA true, no path length");
				goto out;
			}
			BASIC_CONSTRAINTS_free(bc);
			break;
		case NID_key_usage:
			if (seen[1]++)
				goto dup;
			want_ku = c->kind == CA_CSR_CA ?
			    (KU_KEY_CERT_SIGN | KU_CRL_SIGN) : KU_DIGITAL_SIGNATURE;
			ku = X509V3_EXT_d2i(ext);
			if (ku == NULL || !X509_EXTENSION_get_critical(ext) ||
			    (ku->length > 0 ? ku->data[0] : 0) != want_ku ||
			    ku->length > 1) {
				ASN1_BIT_STRING_free(ku);
				cm_err_set(err, CM_EINVAL, who, "key usage must "
				    "be critical and %s only", c->kind == CA_CSR_CA ?
				    "keyCertSign|cRLSign" : "digitalSignature");
				goto out;
			}
			ASN1_BIT_STRING_free(ku);
			break;
		case NID_ext_key_usage:
			if (seen[2]++ || c->kind != CA_CSR_ROUTER)
				goto dup;
			eku = X509V3_EXT_d2i(ext);
			if (eku == NULL || sk_ASN1_OBJECT_num(eku) != 1 ||
			    !oid_is(sk_ASN1_OBJECT_value(eku, 0),
			    OID_BGPSEC_ROUTER)) {
				EXTENDED_KEY_USAGE_free(eku);
				cm_err_set(err, CM_EINVAL, who, "extended key "
				    "usage must be id-kp-bgpsec-router only");
				goto out;
			}
			EXTENDED_KEY_USAGE_free(eku);
			break;
		case NID_subject_key_identifier:
			if (seen[3]++)
				goto dup;
			ski = X509V3_EXT_d2i(ext);
			if (ski == NULL || ski->length != 20 ||
			    memcmp(ski->data, c->ski, 20) != 0) {
				ASN1_OCTET_STRING_free(ski);
				cm_err_set(err, CM_EINVAL, who, "subject key "
				    "identifier does not match the key");
				goto out;
			}
			ASN1_OCTET_STRING_free(ski);
			break;
		case NID_sinfo_access:
			if (seen[4]++ || c->kind != CA_CSR_CA)
				goto dup;
			if (parse_sia(who, ext, c, err) == -1)
				goto out;
			break;
		default:
			goto dup;
		}
	}
	if (c->kind == CA_CSR_CA && c->sia_repo == NULL) {
		cm_err_set(err, CM_EINVAL, who, "no SIA in the request");
		goto out;
	}
	rc = 0;
	goto out;
dup:
	cm_err_set(err, CM_EINVAL, who, "extension %s repeated or not allowed "
	    "in a %s request", OBJ_nid2sn(nid) != NULL ? OBJ_nid2sn(nid) :
	    "(unknown)", c->kind == CA_CSR_CA ? "CA" : "router");
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
ca_csr_parse(const char *who, enum ca_csr_kind kind, const uint8_t *der,
    size_t len, struct ca_csr **out, struct cm_err *err)
{
	const uint8_t		*p = der;
	X509_REQ		*req;
	struct ca_csr		*c = NULL;
	X509_PUBKEY		*xpk;
	const unsigned char	*kd;
	int			 kl, rc = -1;

	*out = NULL;
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return cm_err_set(err, CM_EINVAL, who, "not a PKCS#10 request");
	}
	if (p != der + len) {
		cm_err_set(err, CM_EINVAL, who, "trailing bytes after the request");
		goto out;
	}
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		cm_err_set(err, CM_EINVAL, who, "version is not 0 (v1)");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cm_err_set(err, CM_ENOMEM, who, "out of memory");
		goto out;
	}
	c->kind = kind;
	if ((c->key = X509_REQ_get_pubkey(req)) == NULL) {
		ERR_clear_error();
		cm_err_set(err, CM_EINVAL, who, "public key does not decode");
		goto out;
	}
	if (check_key(who, kind, c->key, err) == -1 ||
	    check_sigalg(who, kind, req, err) == -1)
		goto out;
	if (X509_REQ_verify(req, c->key) != 1) {
		ERR_clear_error();
		cm_err_set(err, CM_EINVAL, who, "signature does not verify");
		goto out;
	}
	xpk = X509_REQ_get_X509_PUBKEY(req);
	if (!X509_PUBKEY_get0_param(NULL, &kd, &kl, NULL, xpk) ||
	    !EVP_Digest(kd, (size_t)kl, c->ski, NULL, EVP_sha1(), NULL)) {
		cm_err_set(err, CM_ECRYPTO, who, "cannot hash the key");
		goto out;
	}
	if (parse_exts(who, req, c, err) == -1)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	ca_csr_free(c);
	X509_REQ_free(req);
	return rc;
}

static int
add_sia(STACK_OF(X509_EXTENSION) *exts, const char *repo, const char *mft,
    const char *notify)
{
	AUTHORITY_INFO_ACCESS	*sia;
	const char		*oids[3] = { OID_CA_REPOSITORY, OID_RPKI_MANIFEST,
	    OID_RPKI_NOTIFY };
	const char		*uris[3] = { repo, mft, notify };
	ACCESS_DESCRIPTION	*ad;
	X509_EXTENSION		*ext;
	int			 i, ok = 0;

	if ((sia = AUTHORITY_INFO_ACCESS_new()) == NULL)
		return 0;
	for (i = 0; i < 3; i++) {
		if (uris[i] == NULL)
			continue;
		if ((ad = ACCESS_DESCRIPTION_new()) == NULL)
			goto out;
		if (!sk_ACCESS_DESCRIPTION_push(sia, ad)) {
			ACCESS_DESCRIPTION_free(ad);
			goto out;
		}
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_txt2obj(oids[i], 1);
		GENERAL_NAME_free(ad->location);
		ad->location = GENERAL_NAME_new();
		if (ad->method == NULL || ad->location == NULL)
			goto out;
		ad->location->type = GEN_URI;
		ad->location->d.uniformResourceIdentifier = ASN1_IA5STRING_new();
		if (ad->location->d.uniformResourceIdentifier == NULL ||
		    !ASN1_STRING_set(ad->location->d.uniformResourceIdentifier,
		    uris[i], -1))
			goto out;
	}
	ext = X509V3_EXT_i2d(NID_sinfo_access, 0, sia);
	if (ext != NULL && sk_X509_EXTENSION_push(exts, ext))
		ok = 1;
	else
		X509_EXTENSION_free(ext);
out:
	AUTHORITY_INFO_ACCESS_free(sia);
	return ok;
}

int
ca_csr_make(struct hsm_key *key, const char *sia_repo, const char *sia_mft,
    const char *sia_notify, uint8_t **der, size_t *len, struct cm_err *err)
{
	X509_REQ			*req;
	X509_NAME			*name = NULL;
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	BASIC_CONSTRAINTS		*bc = NULL;
	ASN1_BIT_STRING			*ku = NULL;
	X509_EXTENSION			*ext;
	unsigned char			*buf = NULL;
	int				 n, rc = -1;

	*der = NULL;
	if ((req = X509_REQ_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL ||
	    (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (bc = BASIC_CONSTRAINTS_new()) == NULL ||
	    (ku = ASN1_BIT_STRING_new()) == NULL)
		goto oom;
	/* RFC 6487 §6.1: the parent chooses the subject; CN = key id. */
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)hsm_key_id(key), -1,
	    -1, 0) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, hsm_key_pubkey(key)))
		goto oom;
	bc->ca = 0xff;
	if ((ext = X509V3_EXT_i2d(NID_basic_constraints, 1, bc)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext))
		goto oom;
	if (!ASN1_BIT_STRING_set_bit(ku, 5, 1) ||
	    !ASN1_BIT_STRING_set_bit(ku, 6, 1) ||
	    (ext = X509V3_EXT_i2d(NID_key_usage, 1, ku)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext))
		goto oom;
	if (!add_sia(exts, sia_repo, sia_mft, sia_notify) ||
	    !X509_REQ_add_extensions(req, exts))
		goto oom;
	if (ca_sign_req(req, key, err) == -1)
		goto out;
	if ((n = i2d_X509_REQ(req, &buf)) <= 0)
		goto oom;
	if ((*der = malloc((size_t)n)) == NULL)
		goto oom;
	memcpy(*der, buf, (size_t)n);
	*len = (size_t)n;
	rc = 0;
	goto out;
oom:
	cm_err_set(err, CM_ENOMEM, "certificate request", "cannot build");
out:
	OPENSSL_free(buf);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}
