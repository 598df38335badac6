/*
 * ca_cert: resource certificate issuance (RFC 6487, RFC 7935), the one
 * certificate builder of Cairn: trust anchors, CA certificates and the EE
 * certificates of signed objects.  The parser is in cert_parse.c.
 *
 * The certificate is built with OpenSSL's X509 API and signed through the
 * signer interface (ca_sign_cert), so the issuer key may live in a PKCS#11
 * token.  What is issued is re-parsed with ca_cert_parse() before it is
 * returned: an out-of-profile certificate never leaves this file.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cert.h"
#include "ca/sign.h"

/*
 * RFC 5280 §4.1.2.2 caps serials at 20 octets; RFC 6487 §4.2 wants them
 * unique per issuer.  A random bit length of 64..159 keeps at least 63 bits
 * of entropy and keeps the DER INTEGER (with its sign octet) within 20
 * octets.  The result is the unsigned big-endian magnitude, no leading zero.
 */
int
ca_cert_serial_random(uint8_t serial[20], size_t *len, struct cm_err *err)
{
	uint8_t		rnd[21];
	unsigned int	bits, nbytes, top;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cm_err_set(err, CM_ECRYPTO, "serial", "RAND_bytes failed");
	bits = 64 + rnd[20] % 96;
	nbytes = (bits + 7) / 8;
	top = (bits - 1) % 8;		/* index of the highest set bit */
	rnd[0] &= (uint8_t)((1u << (top + 1)) - 1);
	rnd[0] |= (uint8_t)(1u << top);
	memcpy(serial, rnd, nbytes);
	*len = nbytes;
	return 0;
}

/* ---- spec checks ---- */

static const char *
kind_name(enum ca_cert_kind k)
{
	switch (k) {
	case CA_CERT_TA:
		return "TA certificate";
	case CA_CERT_CA:
		return "CA certificate";
	case CA_CERT_EE:
		return "EE certificate";
	default:
		return "router certificate";
	}
}

/* X.520 PrintableString characters, 1..64 of them (ub-common-name). */
static int
printable(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789 '()+,-./:=?", *s) == NULL)
			return 0;
	return 1;
}

static int
has_prefix(const char *s, const char *p)
{
	return s != NULL && strncmp(s, p, strlen(p)) == 0 &&
	    strlen(s) > strlen(p);
}

/* RFC 7935 §3: RSA, 2048-bit modulus, exponent 65537. */
int
ca_cert_key_ok(EVP_PKEY *k)
{
	BIGNUM	*e = NULL;
	int	 ok;

	ok = k != NULL && EVP_PKEY_is_a(k, "RSA") &&
	    EVP_PKEY_get_bits(k) == 2048 &&
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) &&
	    BN_is_word(e, 65537);
	BN_free(e);
	return ok;
}

/* RFC 8208 §3.1: BGPsec router keys are ECDSA P-256. */
int
ca_cert_router_key_ok(EVP_PKEY *k)
{
	char	name[64];

	return k != NULL && EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_group_name(k, name, sizeof(name), NULL) &&
	    strcmp(name, SN_X9_62_prime256v1) == 0;
}

/* Which URIs each kind needs, may have or must not have. */
static int
check_uris(const struct ca_cert_spec *s, const char *what,
    struct cm_err *err)
{
	int	ta = s->kind == CA_CERT_TA, ee = s->kind == CA_CERT_EE;

	if (ta ? s->crldp != NULL : !has_prefix(s->crldp, "rsync://"))
		return cm_err_set(err, CM_EINVAL, what, ta ? "RFC 6487 §4.8.6:"
		    " a TA has no CRLDP" : "RFC 6487 §4.8.6: CRLDP must be an "
		    "rsync URI");
	if (ta ? s->aia != NULL : !has_prefix(s->aia, "rsync://"))
		return cm_err_set(err, CM_EINVAL, what, ta ? "RFC 6487 §4.8.7:"
		    " a TA has no AIA" : "RFC 6487 §4.8.7: AIA must be an "
		    "rsync URI");
	if (s->kind == CA_CERT_ROUTER) {
		if (s->sia_signed != NULL || s->sia_repo != NULL ||
		    s->sia_mft != NULL || s->sia_notify != NULL)
			return cm_err_set(err, CM_EINVAL, what, "RFC 8209 "
			    "§3.1.3.3: a router certificate has no SIA");
		return 0;
	}
	if (ee) {
		if (!has_prefix(s->sia_signed, "rsync://") ||
		    s->sia_repo != NULL || s->sia_mft != NULL ||
		    s->sia_notify != NULL)
			return cm_err_set(err, CM_EINVAL, what, "RFC 6487 "
			    "§4.8.8.2: EE SIA is one rsync signedObject URI");
		return 0;
	}
	if (s->sia_signed != NULL)
		return cm_err_set(err, CM_EINVAL, what, "RFC 6487 §4.8.8.1: "
		    "no signedObject in a CA certificate");
	if (!has_prefix(s->sia_repo, "rsync://") ||
	    s->sia_repo[strlen(s->sia_repo) - 1] != '/')
		return cm_err_set(err, CM_EINVAL, what, "RFC 6487 §4.8.8.1: "
		    "caRepository must be an rsync URI ending in /");
	if (!has_prefix(s->sia_mft, s->sia_repo) ||
	    strchr(s->sia_mft + strlen(s->sia_repo), '/') != NULL)
		return cm_err_set(err, CM_EINVAL, what, "RFC 6487 §4.8.8.1: "
		    "rpkiManifest must be a file in the caRepository");
	if (s->sia_notify != NULL && !has_prefix(s->sia_notify, "https://"))
		return cm_err_set(err, CM_EINVAL, what, "RFC 8182 §3.2: "
		    "rpkiNotify must be an https URI");
	return 0;
}

static int
check_issuer(const struct ca_cert_spec *s, const char *what,
    struct cm_err *err)
{
	time_t	na;

	if (s->kind == CA_CERT_TA) {
		if (s->issuer != NULL)
			return cm_err_set(err, CM_EINVAL, what, "a TA is "
			    "self-signed: no issuer certificate");
		if (EVP_PKEY_eq(s->subject_key,
		    hsm_key_pubkey(s->issuer_key)) != 1)
			return cm_err_set(err, CM_EINVAL, what, "a TA is "
			    "signed by its own key");
		return 0;
	}
	if (s->issuer == NULL)
		return cm_err_set(err, CM_EINVAL, what, "no issuer certificate");
	if (X509_get0_pubkey(s->issuer) == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(s->issuer),
	    hsm_key_pubkey(s->issuer_key)) != 1)
		return cm_err_set(err, CM_EINVAL, what, "issuer key does not "
		    "match the issuer certificate");
	if (X509_get0_subject_key_id(s->issuer) == NULL)
		return cm_err_set(err, CM_EINVAL, what, "issuer certificate "
		    "has no subjectKeyIdentifier");
	if (ca_asn1_time_get(X509_get0_notAfter(s->issuer), &na) == -1 ||
	    s->not_after > na)
		return cm_err_set(err, CM_EINVAL, what, "notAfter is after "
		    "the issuer's notAfter");
	return 0;
}

static int
check_spec(const struct ca_cert_spec *s, const char *what,
    struct cm_err *err)
{
	int	router = s->kind == CA_CERT_ROUTER;

	if (s->kind != CA_CERT_TA && s->kind != CA_CERT_CA &&
	    s->kind != CA_CERT_EE && !router)
		return cm_err_set(err, CM_EINVAL, what, "unknown kind %d",
		    (int)s->kind);
	if (s->issuer_key == NULL || s->res == NULL)
		return cm_err_set(err, CM_EINVAL, what, "incomplete spec");
	if (router ? !ca_cert_router_key_ok(s->subject_key) :
	    !ca_cert_key_ok(s->subject_key))
		return cm_err_set(err, CM_EINVAL, what, router ? "RFC 8208 "
		    "§3.1: router key must be ECDSA P-256" : "RFC 7935 §3: "
		    "subject key must be RSA-2048 with exponent 65537");
	if (s->serial_len == 0 || s->serial_len > 20 || s->serial[0] == 0 ||
	    (s->serial_len == 20 && (s->serial[0] & 0x80)))
		return cm_err_set(err, CM_EINVAL, what, "RFC 5280 §4.1.2.2: "
		    "serial must be positive, at most 20 octets in DER, "
		    "without leading zero");
	if (s->not_after <= s->not_before)
		return cm_err_set(err, CM_EINVAL, what, "notAfter must be "
		    "after notBefore");
	if (s->cn != NULL && !printable(s->cn))
		return cm_err_set(err, CM_EINVAL, what, "RFC 6487 §4.5: CN "
		    "must be 1..64 PrintableString characters");
	if (ca_res_is_empty(s->res))
		return cm_err_set(err, CM_EINVAL, what, "RFC 6487 §4.8.10: "
		    "no IP or AS resources");
	if (s->kind == CA_CERT_TA && (ca_res_is_inherit(s->res, CA_RES_AS) ||
	    ca_res_is_inherit(s->res, CA_RES_V4) ||
	    ca_res_is_inherit(s->res, CA_RES_V6)))
		return cm_err_set(err, CM_EINVAL, what, "RFC 6487 §7.1: TA "
		    "resources must not inherit");
	if (router && (ca_res_is_inherit(s->res, CA_RES_AS) ||
	    ca_res_count(s->res, CA_RES_AS) == 0 ||
	    ca_res_is_inherit(s->res, CA_RES_V4) ||
	    ca_res_is_inherit(s->res, CA_RES_V6) ||
	    ca_res_count(s->res, CA_RES_V4) > 0 ||
	    ca_res_count(s->res, CA_RES_V6) > 0))
		return cm_err_set(err, CM_EINVAL, what, "RFC 8209 §3.1.3.5: "
		    "router resources are explicit AS numbers only");
	if (check_issuer(s, what, err) == -1)
		return -1;
	return check_uris(s, what, err);
}

/* ---- building ---- */

static GENERAL_NAME *
uri_name(const char *uri)
{
	GENERAL_NAME	*gn = GENERAL_NAME_new();
	ASN1_IA5STRING	*s = ASN1_IA5STRING_new();

	if (gn == NULL || s == NULL || !ASN1_STRING_set(s, uri, -1)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

/* Appends one AccessDescription (method given as a dotted OID) to ia. */
static int
push_access(AUTHORITY_INFO_ACCESS *ia, const char *oid, const char *uri)
{
	ACCESS_DESCRIPTION	*ad;

	if (uri == NULL)
		return 1;
	if ((ad = ACCESS_DESCRIPTION_new()) == NULL)
		return 0;
	ASN1_OBJECT_free(ad->method);
	GENERAL_NAME_free(ad->location);
	ad->method = ca_asn1_oid(oid);
	ad->location = uri_name(uri);
	if (ad->method == NULL || ad->location == NULL ||
	    !sk_ACCESS_DESCRIPTION_push(ia, ad)) {
		ACCESS_DESCRIPTION_free(ad);
		return 0;
	}
	return 1;
}

static int
add_info_access(X509 *x, const struct ca_cert_spec *s)
{
	AUTHORITY_INFO_ACCESS	*aia = NULL, *sia = NULL;
	int			 ok;

	ok = (sia = AUTHORITY_INFO_ACCESS_new()) != NULL &&
	    push_access(sia, CA_OID_AD_CA_REPOSITORY, s->sia_repo) &&
	    push_access(sia, CA_OID_AD_RPKI_MANIFEST, s->sia_mft) &&
	    push_access(sia, CA_OID_AD_RPKI_NOTIFY, s->sia_notify) &&
	    push_access(sia, CA_OID_AD_SIGNED_OBJECT, s->sia_signed);
	if (ok && s->aia != NULL)
		ok = (aia = AUTHORITY_INFO_ACCESS_new()) != NULL &&
		    push_access(aia, CA_OID_AD_CA_ISSUERS, s->aia) &&
		    X509_add1_ext_i2d(x, NID_info_access, aia, 0, 0) == 1;
	if (s->kind != CA_CERT_ROUTER)
		ok = ok &&
		    X509_add1_ext_i2d(x, NID_sinfo_access, sia, 0, 0) == 1;
	AUTHORITY_INFO_ACCESS_free(aia);
	AUTHORITY_INFO_ACCESS_free(sia);
	return ok;
}

/* One DistributionPoint with one fullName URI; no reasons, no issuer. */
static int
add_crldp(X509 *x, const char *uri)
{
	CRL_DIST_POINTS	*dps = CRL_DIST_POINTS_new();
	DIST_POINT	*dp = DIST_POINT_new();
	GENERAL_NAME	*gn = uri_name(uri);
	int		 ok = 0;

	if (dps != NULL && dp != NULL && gn != NULL &&
	    (dp->distpoint = DIST_POINT_NAME_new()) != NULL &&
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) != NULL &&
	    sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
		gn = NULL;
		dp->distpoint->type = 0;
		if (sk_DIST_POINT_push(dps, dp)) {
			dp = NULL;
			ok = X509_add1_ext_i2d(x, NID_crl_distribution_points,
			    dps, 0, 0) == 1;
		}
	}
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return ok;
}

/* RFC 6487 §4.8.9: critical, exactly id-cp-ipAddr-asNumber. */
static int
add_policy(X509 *x)
{
	CERTIFICATEPOLICIES	*cp = CERTIFICATEPOLICIES_new();
	POLICYINFO		*pi = POLICYINFO_new();
	int			 ok = 0;

	if (cp != NULL && pi != NULL) {
		ASN1_OBJECT_free(pi->policyid);
		pi->policyid = ca_asn1_oid(CA_OID_CP_IPADDR_ASNUMBER);
		if (pi->policyid != NULL && sk_POLICYINFO_push(cp, pi)) {
			pi = NULL;
			ok = X509_add1_ext_i2d(x, NID_certificate_policies, cp,
			    1, 0) == 1;
		}
	}
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	return ok;
}

/* RFC 8209 §3.1.3.2: non-critical, exactly id-kp-bgpsec-router. */
static int
add_eku(X509 *x)
{
	EXTENDED_KEY_USAGE	*eku = sk_ASN1_OBJECT_new_null();
	ASN1_OBJECT		*o = ca_asn1_oid(CA_OID_KP_BGPSEC_ROUTER);
	int			 ok = 0;

	if (eku != NULL && o != NULL && sk_ASN1_OBJECT_push(eku, o)) {
		o = NULL;
		ok = X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0) == 1;
	}
	ASN1_OBJECT_free(o);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return ok;
}

/* basicConstraints (CA/TA), SKI, AKI (not TA), keyUsage. */
static int
add_key_exts(X509 *x, const struct ca_cert_spec *s)
{
	BASIC_CONSTRAINTS	*bc = BASIC_CONSTRAINTS_new();
	ASN1_OCTET_STRING	*ski = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID		*aki = AUTHORITY_KEYID_new();
	ASN1_BIT_STRING		*ku = ASN1_BIT_STRING_new();
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	int			 ca, ok;

	ca = s->kind == CA_CERT_TA || s->kind == CA_CERT_CA;

	ok = bc != NULL && ski != NULL && aki != NULL && ku != NULL;
	if (ok && ca) {
		bc->ca = 0xff;
		ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0) == 1;
	}
	ok = ok && X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) &&
	    ASN1_OCTET_STRING_set(ski, md, (int)mdlen) &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, 0) == 1;
	if (ok && s->kind != CA_CERT_TA)
		ok = (aki->keyid = ASN1_OCTET_STRING_dup(
		    X509_get0_subject_key_id(s->issuer))) != NULL &&
		    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0,
		    0) == 1;
	/* Bits 0 digitalSignature, 5 keyCertSign, 6 cRLSign. */
	if (ok && ca)
		ok = ASN1_BIT_STRING_set_bit(ku, 5, 1) &&
		    ASN1_BIT_STRING_set_bit(ku, 6, 1);
	else if (ok)
		ok = ASN1_BIT_STRING_set_bit(ku, 0, 1);
	ok = ok && X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0) == 1;
	BASIC_CONSTRAINTS_free(bc);
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	ASN1_BIT_STRING_free(ku);
	return ok;
}

static int
add_resources(X509 *x, const struct ca_res *res, const char *what,
    struct cm_err *err)
{
	IPAddrBlocks	*ip = NULL;
	ASIdentifiers	*as = NULL;
	int		 rc = -1;

	if (ca_res_to_x509(res, &ip, &as, err) == -1) {
		cm_err_wrap(err, what);
		return -1;
	}
	if ((ip != NULL &&
	    X509_add1_ext_i2d(x, NID_sbgp_ipAddrBlock, ip, 1, 0) != 1) ||
	    (as != NULL &&
	    X509_add1_ext_i2d(x, NID_sbgp_autonomousSysNum, as, 1, 0) != 1)) {
		cm_err_ssl(err, what, "cannot add resource extensions");
		goto out;
	}
	rc = 0;
out:
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	ASIdentifiers_free(as);
	return rc;
}

static int
set_fields(X509 *x, const struct ca_cert_spec *s)
{
	X509_NAME	*n = X509_NAME_new();
	BIGNUM		*bn = BN_bin2bn(s->serial, (int)s->serial_len, NULL);
	char		 id[HSM_KEY_ID_LEN + 1];
	const char	*cn = s->cn;
	int		 ok;

	if (cn == NULL && hsm_pubkey_id(s->subject_key, id, NULL) == 0)
		cn = id;
	ok = n != NULL && bn != NULL && cn != NULL &&
	    X509_set_version(x, 2) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_NAME_add_entry_by_NID(n, NID_commonName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)cn, -1, -1, 0) &&
	    X509_set_subject_name(x, n) &&
	    X509_set_issuer_name(x, s->issuer != NULL ?
	    X509_get_subject_name(s->issuer) : n) &&
	    ASN1_TIME_set(X509_getm_notBefore(x), s->not_before) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), s->not_after) != NULL &&
	    X509_set_pubkey(x, s->subject_key);
	BN_free(bn);
	X509_NAME_free(n);
	return ok;
}

/* Extension order follows RFC 6487 §4.8. */
static int
build(X509 *x, const struct ca_cert_spec *s, const char *what,
    struct cm_err *err)
{
	if (!set_fields(x, s) || !add_key_exts(x, s) ||
	    (s->crldp != NULL && !add_crldp(x, s->crldp)) ||
	    (s->kind == CA_CERT_ROUTER && !add_eku(x)) ||
	    !add_info_access(x, s) || !add_policy(x))
		return cm_err_ssl(err, what, "cannot build certificate");
	return add_resources(x, s->res, what, err);
}

int
ca_cert_issue(const struct ca_cert_spec *spec, X509 **out,
    struct cm_err *err)
{
	const char	*what = kind_name(spec->kind);
	struct ca_cert	*back = NULL;
	X509		*x = NULL;
	uint8_t		*der = NULL;
	int		 len, rc = -1;

	if (check_spec(spec, what, err) == -1)
		return -1;
	if ((x = X509_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, what, "out of memory");
		goto out;
	}
	if (build(x, spec, what, err) == -1 ||
	    ca_sign_cert(x, spec->issuer_key, err) == -1)
		goto out;
	if ((len = i2d_X509(x, &der)) <= 0) {
		cm_err_ssl(err, what, "cannot encode certificate");
		goto out;
	}
	if (ca_cert_parse(what, der, (size_t)len, &back, err) == -1)
		goto out;
	if (back->kind != spec->kind) {
		cm_err_set(err, CM_ESTATE, what, "issued certificate parses "
		    "as a %s", kind_name(back->kind));
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	ca_cert_free(back);
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}
