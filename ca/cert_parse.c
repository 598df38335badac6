/*
 * ca_cert: strict parsing of resource certificates (RFC 6487, RFC 7935).
 *
 * Two passes, as in rpki-client: syntax (encoding, fields, which extensions
 * and their criticality) then meaning (the kind of certificate and what it
 * must and must not carry).  Error messages name the file and the rule.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cert.h"
#include "ca/x509.h"

/* Far above any resource certificate; bounds what a parser accepts. */
#define CERT_MAX_SIZE	(8u * 1024 * 1024)

enum ext { E_BC, E_SKI, E_AKI, E_KU, E_EKU, E_CRLDP, E_AIA, E_SIA, E_CP,
    E_IP, E_AS, E_MAX };

/* RFC 6487 §4.8 (+ RFC 8209): the complete set, with the criticality. */
static const struct {
	int		 nid;
	int		 critical;
	const char	*name;
} exts[E_MAX] = {
	[E_BC] = { NID_basic_constraints, 1, "basicConstraints" },
	[E_SKI] = { NID_subject_key_identifier, 0, "subjectKeyIdentifier" },
	[E_AKI] = { NID_authority_key_identifier, 0,
	    "authorityKeyIdentifier" },
	[E_KU] = { NID_key_usage, 1, "keyUsage" },
	/* RFC 8209 §3.1.3.2: router certificates only. */
	[E_EKU] = { NID_ext_key_usage, 0, "extendedKeyUsage" },
	[E_CRLDP] = { NID_crl_distribution_points, 0,
	    "cRLDistributionPoints" },
	[E_AIA] = { NID_info_access, 0, "authorityInfoAccess" },
	[E_SIA] = { NID_sinfo_access, 0, "subjectInfoAccess" },
	[E_CP] = { NID_certificate_policies, 1, "certificatePolicies" },
	[E_IP] = { NID_sbgp_ipAddrBlock, 1, "sbgp-ipAddrBlock" },
	[E_AS] = { NID_sbgp_autonomousSysNum, 1, "sbgp-autonomousSysNum" },
};

struct parse {
	const char	*fn;
	X509		*x;
	struct ca_cert	*c;
	X509_EXTENSION	*ext[E_MAX];	/* borrowed from x; NULL if absent */
	int		 ec;		/* the key is ECDSA P-256 */
};

/* ---- syntax ---- */

static int
check_der(struct parse *p, const uint8_t *der, size_t len,
    struct cm_err *err)
{
	uint8_t	*tbs = NULL, *re = NULL;
	int	 n, rc = -1;

	/*
	 * OpenSSL keeps the received TBSCertificate bytes; i2d_re_X509_tbs()
	 * drops them, so the next i2d encodes from the parsed fields.
	 */
	if (i2d_re_X509_tbs(p->x, &tbs) <= 0 || (n = i2d_X509(p->x, &re)) < 0)
		cm_err_ssl(err, p->fn, "cannot re-encode certificate");
	else if ((size_t)n != len || memcmp(re, der, len) != 0)
		cm_err_set(err, CM_EINVAL, p->fn, "certificate is not DER");
	else
		rc = 0;
	OPENSSL_free(tbs);
	OPENSSL_free(re);
	return rc;
}

/*
 * RFC 7935 §3: rsaEncryption with NULL parameters, 2048 bits, e 65537; or,
 * for router certificates (checked with the kind), RFC 8208 §3.1:
 * id-ecPublicKey on the named curve P-256.
 */
static int
check_key(struct parse *p, struct cm_err *err)
{
	X509_PUBKEY	*pk = X509_get_X509_PUBKEY(p->x);
	ASN1_OBJECT	*obj;
	X509_ALGOR	*alg;
	int		 ptype;

	if (pk == NULL || !X509_PUBKEY_get0_param(&obj, NULL, NULL, &alg, pk))
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 7935 §3: no "
		    "subject public key");
	X509_ALGOR_get0(NULL, &ptype, NULL, alg);
	if (OBJ_obj2nid(obj) == NID_X9_62_id_ecPublicKey &&
	    ptype == V_ASN1_OBJECT &&
	    ca_cert_router_key_ok(X509_get0_pubkey(p->x))) {
		p->ec = 1;
		return 0;
	}
	if (OBJ_obj2nid(obj) != NID_rsaEncryption || ptype != V_ASN1_NULL)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 7935 §3: key is "
		    "not rsaEncryption with NULL parameters");
	if (!ca_cert_key_ok(X509_get0_pubkey(p->x)))
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 7935 §3: key is "
		    "not RSA-2048 with exponent 65537");
	return 0;
}

static int
check_fields(struct parse *p, struct cm_err *err)
{
	const ASN1_BIT_STRING	*iuid, *suid;
	const X509_ALGOR	*outer;

	if (X509_get_version(p->x) != 2)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.1: "
		    "version must be v3");
	if (ca_x509_check_int(X509_get0_serialNumber(p->x), 1) == -1)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.2: "
		    "serial must be positive and at most 20 octets");
	X509_get0_signature(NULL, &outer, p->x);
	if (ca_x509_check_alg(p->fn, X509_get0_tbs_sigalg(p->x),
	    "certificate tbs signature", err) == -1 ||
	    ca_x509_check_alg(p->fn, outer, "certificate signatureAlgorithm",
	    err) == -1)
		return -1;
	if (ca_x509_check_name(p->fn, "issuer", X509_get_issuer_name(p->x),
	    err) == -1 || ca_x509_check_name(p->fn, "subject",
	    X509_get_subject_name(p->x), err) == -1)
		return -1;
	if (ca_x509_check_time(p->fn, "notBefore", X509_get0_notBefore(p->x),
	    &p->c->not_before, err) == -1 || ca_x509_check_time(p->fn,
	    "notAfter", X509_get0_notAfter(p->x), &p->c->not_after, err) == -1)
		return -1;
	if (p->c->not_after <= p->c->not_before)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 5280 §4.1.2.5: "
		    "notAfter is not after notBefore");
	X509_get0_uids(p->x, &iuid, &suid);
	if (iuid != NULL || suid != NULL)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.7: "
		    "unique identifiers are not allowed");
	return check_key(p, err);
}

/* Only the profile's extensions, each at most once, right criticality. */
static int
check_ext_set(struct parse *p, struct cm_err *err)
{
	X509_EXTENSION	*e;
	char		 oid[80];
	int		 i, j, nid;

	for (i = 0; i < X509_get_ext_count(p->x); i++) {
		e = X509_get_ext(p->x, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		for (j = 0; j < E_MAX && exts[j].nid != nid; j++)
			;
		if (j == E_MAX) {
			OBJ_obj2txt(oid, sizeof(oid),
			    X509_EXTENSION_get_object(e), 1);
			return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 "
			    "§4.8: extension %s is not allowed", oid);
		}
		if (p->ext[j] != NULL)
			return cm_err_set(err, CM_EINVAL, p->fn, "RFC 5280 "
			    "§4.2: duplicate %s", exts[j].name);
		if (X509_EXTENSION_get_critical(e) != exts[j].critical)
			return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 "
			    "§4.8: %s must %sbe critical", exts[j].name,
			    exts[j].critical ? "" : "not ");
		if (ca_x509_check_ext_der(p->fn, e, err) == -1)
			return -1;
		p->ext[j] = e;
	}
	return 0;
}

/* ---- meaning ---- */

static void *
ext_d2i(struct parse *p, enum ext which)
{
	return p->ext[which] == NULL ? NULL : X509V3_EXT_d2i(p->ext[which]);
}

static int
key_ids(struct parse *p, struct cm_err *err)
{
	ASN1_OCTET_STRING	*ski = ext_d2i(p, E_SKI);
	AUTHORITY_KEYID		*aki = ext_d2i(p, E_AKI);
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	int			 rc = -1;

	if (ski == NULL || ski->length != 20 ||
	    !X509_pubkey_digest(p->x, EVP_sha1(), md, &mdlen) ||
	    memcmp(md, ski->data, 20) != 0) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.2: SKI "
		    "missing or not the SHA-1 of the subject key");
		goto out;
	}
	memcpy(p->c->ski, ski->data, 20);
	if (p->ext[E_AKI] != NULL) {
		if (aki == NULL || aki->keyid == NULL ||
		    aki->issuer != NULL || aki->serial != NULL ||
		    aki->keyid->length != 20) {
			cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.3: "
			    "AKI must be a 20-octet keyIdentifier only");
			goto out;
		}
		memcpy(p->c->aki, aki->keyid->data, 20);
		p->c->has_aki = 1;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	return rc;
}

/* The kind follows from basicConstraints and AKI = SKI. */
static int
kind(struct parse *p, struct cm_err *err)
{
	BASIC_CONSTRAINTS	*bc = ext_d2i(p, E_BC);
	int			 rc = -1;

	if (p->ext[E_BC] == NULL)
		p->c->kind = p->ext[E_EKU] != NULL ? CA_CERT_ROUTER :
		    CA_CERT_EE;
	else if (bc == NULL || !bc->ca || bc->pathlen != NULL) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.1: "
		    "basicConstraints must be cA TRUE without pathLen");
		goto out;
	} else if (!p->c->has_aki || memcmp(p->c->aki, p->c->ski, 20) == 0)
		p->c->kind = CA_CERT_TA;
	else
		p->c->kind = CA_CERT_CA;
	if (p->c->kind == CA_CERT_TA && X509_NAME_cmp(X509_get_issuer_name(
	    p->x), X509_get_subject_name(p->x)) != 0) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.4: a TA is "
		    "self-issued, its issuer must equal its subject");
		goto out;
	}
	if (p->c->kind != CA_CERT_TA && !p->c->has_aki) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.3: AKI is "
		    "required");
		goto out;
	}
	if (p->ext[E_EKU] != NULL && p->c->kind != CA_CERT_ROUTER) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.5: "
		    "extendedKeyUsage in a CA certificate");
		goto out;
	}
	if (p->ec != (p->c->kind == CA_CERT_ROUTER)) {
		cm_err_set(err, CM_EINVAL, p->fn, p->ec ? "RFC 7935 §3: only "
		    "router certificates may have an ECDSA key" : "RFC 8208 "
		    "§3.1: router key must be ECDSA P-256");
		goto out;
	}
	if ((p->c->kind == CA_CERT_EE || p->c->kind == CA_CERT_ROUTER) &&
	    memcmp(p->c->aki, p->c->ski, 20) == 0) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.3: a "
		    "non-TA AKI must not equal its SKI");
		goto out;
	}
	rc = 0;
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int
key_usage(struct parse *p, struct cm_err *err)
{
	ASN1_BIT_STRING	*ku = ext_d2i(p, E_KU);
	int		 ee, want, have = 0, rc = -1;

	/* Bits 0 digitalSignature, 5 keyCertSign, 6 cRLSign. */
	ee = p->c->kind == CA_CERT_EE || p->c->kind == CA_CERT_ROUTER;
	want = ee ? 1 : (1 << 5) | (1 << 6);
	if (ku != NULL) {
		for (int i = 0; i < ku->length * 8; i++)
			if (ASN1_BIT_STRING_get_bit(ku, i))
				have |= i < 16 ? 1 << i : 1 << 16;
	}
	if (ku == NULL || have != want)
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.4: keyUsage "
		    "must be exactly %s", ee ? "digitalSignature" :
		    "keyCertSign and cRLSign");
	else
		rc = 0;
	ASN1_BIT_STRING_free(ku);
	return rc;
}

/* RFC 8209 §3.1.3.2: exactly id-kp-bgpsec-router. */
static int
eku(struct parse *p, struct cm_err *err)
{
	EXTENDED_KEY_USAGE	*e = ext_d2i(p, E_EKU);
	int			 rc = -1;

	if (p->c->kind != CA_CERT_ROUTER)
		return 0;
	if (e == NULL || sk_ASN1_OBJECT_num(e) != 1 ||
	    !ca_asn1_oid_is(sk_ASN1_OBJECT_value(e, 0),
	    CA_OID_KP_BGPSEC_ROUTER))
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 8209 §3.1.3.2: "
		    "extendedKeyUsage must be exactly id-kp-bgpsec-router");
	else
		rc = 0;
	EXTENDED_KEY_USAGE_free(e);
	return rc;
}

/* A copy of the URI gn, if it is one that starts with scheme. */
static char *
uri_of(const GENERAL_NAME *gn, const char *scheme)
{
	const ASN1_IA5STRING	*s;
	size_t			 n = strlen(scheme);

	if (gn->type != GEN_URI)
		return NULL;
	s = gn->d.uniformResourceIdentifier;
	if ((size_t)s->length <= n || memchr(s->data, '\0', s->length) ||
	    strncmp((const char *)s->data, scheme, n) != 0)
		return NULL;
	return strndup((const char *)s->data, (size_t)s->length);
}

/*
 * CRLDP and AIA: required in every certificate but a TA's, which must not
 * have them.  Returns 1 when the extension is present and allowed, 0 when
 * a TA rightly lacks it, -1 (err set, naming rule and name) otherwise.
 */
static int
non_ta_ext(struct parse *p, enum ext which, const char *rule,
    const char *name, struct cm_err *err)
{
	int	 ta = p->c->kind == CA_CERT_TA;

	if (p->ext[which] == NULL && !ta)
		return cm_err_set(err, CM_EINVAL, p->fn, "%s: %s is required",
		    rule, name);
	if (p->ext[which] != NULL && ta)
		return cm_err_set(err, CM_EINVAL, p->fn, "%s: a TA must not "
		    "have a%s %s", rule, name[0] == 'A' ? "n" : "", name);
	return !ta;
}

static int
crldp(struct parse *p, struct cm_err *err)
{
	CRL_DIST_POINTS	*dps;
	DIST_POINT	*dp;
	int		 rc;

	if ((rc = non_ta_ext(p, E_CRLDP, "RFC 6487 §4.8.6", "CRLDP", err)) <= 0)
		return rc;
	rc = -1;
	dps = ext_d2i(p, E_CRLDP);
	if (sk_DIST_POINT_num(dps) != 1 ||
	    (dp = sk_DIST_POINT_value(dps, 0))->reasons != NULL ||
	    dp->CRLissuer != NULL || dp->distpoint == NULL ||
	    dp->distpoint->type != 0 ||
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) != 1) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.6: CRLDP "
		    "must be one DistributionPoint with one fullName only");
		goto out;
	}
	p->c->crldp = uri_of(sk_GENERAL_NAME_value(dp->distpoint->
	    name.fullname, 0), "rsync://");
	if (p->c->crldp == NULL) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.6: CRLDP is "
		    "not an rsync URI");
		goto out;
	}
	rc = 0;
out:
	CRL_DIST_POINTS_free(dps);
	return rc;
}

static int
aia(struct parse *p, struct cm_err *err)
{
	AUTHORITY_INFO_ACCESS	*ia;
	ACCESS_DESCRIPTION	*ad;
	int			 rc;

	if ((rc = non_ta_ext(p, E_AIA, "RFC 6487 §4.8.7", "AIA", err)) <= 0)
		return rc;
	rc = -1;
	ia = ext_d2i(p, E_AIA);
	if (sk_ACCESS_DESCRIPTION_num(ia) != 1 ||
	    !ca_asn1_oid_is((ad = sk_ACCESS_DESCRIPTION_value(ia, 0))->method,
	    CA_OID_AD_CA_ISSUERS) ||
	    (p->c->aia = uri_of(ad->location, "rsync://")) == NULL) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.7: AIA must "
		    "be one caIssuers rsync URI");
		goto out;
	}
	rc = 0;
out:
	AUTHORITY_INFO_ACCESS_free(ia);
	return rc;
}

/* Stores one SIA URI; a second one of the same method is an error. */
static int
sia_one(struct parse *p, char **slot, const GENERAL_NAME *gn,
    const char *scheme, const char *what, struct cm_err *err)
{
	if (*slot != NULL)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.8: "
		    "more than one %s", what);
	if ((*slot = uri_of(gn, scheme)) == NULL)
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.8: "
		    "%s must be a %s URI", what, scheme);
	return 0;
}

static int
sia_entries(struct parse *p, AUTHORITY_INFO_ACCESS *ia, struct cm_err *err)
{
	struct ca_cert		*c = p->c;
	ACCESS_DESCRIPTION	*ad;
	int			 ee = c->kind == CA_CERT_EE, r;

	for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(ia); i++) {
		ad = sk_ACCESS_DESCRIPTION_value(ia, i);
		if (!ee && ca_asn1_oid_is(ad->method, CA_OID_AD_CA_REPOSITORY))
			r = sia_one(p, &c->sia_repo, ad->location, "rsync://",
			    "caRepository", err);
		else if (!ee && ca_asn1_oid_is(ad->method,
		    CA_OID_AD_RPKI_MANIFEST))
			r = sia_one(p, &c->sia_mft, ad->location, "rsync://",
			    "rpkiManifest", err);
		else if (!ee && ca_asn1_oid_is(ad->method,
		    CA_OID_AD_RPKI_NOTIFY))
			r = sia_one(p, &c->sia_notify, ad->location,
			    "https://", "rpkiNotify", err);
		else if (ee && ca_asn1_oid_is(ad->method,
		    CA_OID_AD_SIGNED_OBJECT))
			r = sia_one(p, &c->sia_signed, ad->location,
			    "rsync://", "signedObject", err);
		else
			r = cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 "
			    "§4.8.8: access method not allowed in the SIA of "
			    "a%s certificate", ee ? "n EE" : " CA");
		if (r == -1)
			return -1;
	}
	return 0;
}

static int
sia(struct parse *p, struct cm_err *err)
{
	AUTHORITY_INFO_ACCESS	*ia = ext_d2i(p, E_SIA);
	struct ca_cert		*c = p->c;
	int			 rc = -1;

	if (c->kind == CA_CERT_ROUTER) {
		if (ia == NULL && p->ext[E_SIA] == NULL)
			return 0;
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 8209 §3.1.3.3: a router "
		    "certificate has no SIA");
		goto out;
	}
	if (ia == NULL) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.8: SIA is "
		    "required");
		goto out;
	}
	if (sia_entries(p, ia, err) == -1)
		goto out;
	if (c->kind == CA_CERT_EE) {
		if (c->sia_signed == NULL) {
			cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.8.2: "
			    "EE SIA needs a signedObject URI");
			goto out;
		}
	} else if (c->sia_repo == NULL || c->sia_mft == NULL ||
	    c->sia_repo[strlen(c->sia_repo) - 1] != '/' ||
	    strncmp(c->sia_mft, c->sia_repo, strlen(c->sia_repo)) != 0 ||
	    strchr(c->sia_mft + strlen(c->sia_repo), '/') != NULL) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.8.1: CA SIA "
		    "needs a caRepository directory and an rpkiManifest in "
		    "it");
		goto out;
	}
	rc = 0;
out:
	AUTHORITY_INFO_ACCESS_free(ia);
	return rc;
}

/* Exactly id-cp-ipAddr-asNumber, at most one id-qt-cps (RFC 7318). */
static int
policies(struct parse *p, struct cm_err *err)
{
	CERTIFICATEPOLICIES	*cp = ext_d2i(p, E_CP);
	POLICYINFO		*pi;
	POLICYQUALINFO		*q;
	int			 rc = -1;

	if (cp == NULL || sk_POLICYINFO_num(cp) != 1 ||
	    !ca_asn1_oid_is((pi = sk_POLICYINFO_value(cp, 0))->policyid,
	    CA_OID_CP_IPADDR_ASNUMBER)) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §4.8.9: need "
		    "exactly the policy id-cp-ipAddr-asNumber");
		goto out;
	}
	if (pi->qualifiers != NULL && (sk_POLICYQUALINFO_num(pi->qualifiers)
	    != 1 || !ca_asn1_oid_is((q = sk_POLICYQUALINFO_value(
	    pi->qualifiers, 0))->pqualid, CA_OID_QT_CPS))) {
		cm_err_set(err, CM_EINVAL, p->fn, "RFC 7318: at most one "
		    "policy qualifier, id-qt-cps");
		goto out;
	}
	rc = 0;
out:
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

static int
resources(struct parse *p, struct cm_err *err)
{
	if (ca_res_from_x509(p->x, p->fn, &p->c->res, err) == -1)
		return -1;
	if (p->c->kind == CA_CERT_TA && (ca_res_is_inherit(p->c->res,
	    CA_RES_AS) || ca_res_is_inherit(p->c->res, CA_RES_V4) ||
	    ca_res_is_inherit(p->c->res, CA_RES_V6)))
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 6487 §7.1: TA "
		    "resources must not inherit");
	if (p->c->kind == CA_CERT_ROUTER && (ca_res_is_inherit(p->c->res,
	    CA_RES_AS) || ca_res_count(p->c->res, CA_RES_AS) == 0 ||
	    ca_res_is_inherit(p->c->res, CA_RES_V4) ||
	    ca_res_is_inherit(p->c->res, CA_RES_V6) ||
	    ca_res_count(p->c->res, CA_RES_V4) > 0 ||
	    ca_res_count(p->c->res, CA_RES_V6) > 0))
		return cm_err_set(err, CM_EINVAL, p->fn, "RFC 8209 §3.1.3.5: "
		    "router resources are explicit AS numbers only");
	/* A TA is its own issuer: its signature is checkable here. */
	if (p->c->kind == CA_CERT_TA && X509_verify(p->x,
	    X509_get0_pubkey(p->x)) != 1)
		return cm_err_set(err, CM_EINVAL, p->fn, "TA self-signature "
		    "does not verify");
	return 0;
}

int
ca_cert_parse(const char *fn, const uint8_t *der, size_t len,
    struct ca_cert **out, struct cm_err *err)
{
	struct parse		 p = { .fn = fn };
	const unsigned char	*q = der;
	int			 rc = -1;

	if (len == 0 || len > CERT_MAX_SIZE)
		return cm_err_set(err, CM_EINVAL, fn, "certificate size %zu "
		    "out of range", len);
	if ((p.c = calloc(1, sizeof(*p.c))) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	if ((p.x = p.c->x509 = d2i_X509(NULL, &q, (long)len)) == NULL) {
		cm_err_ssl(err, fn, "failed to parse certificate");
		/* Undecodable input is invalid input, whatever OpenSSL says. */
		if (err != NULL)
			err->code = CM_EINVAL;
		goto out;
	}
	if (q != der + len) {
		cm_err_set(err, CM_EINVAL, fn, "certificate: %zu trailing "
		    "bytes", (size_t)(der + len - q));
		goto out;
	}
	if (check_der(&p, der, len, err) == -1 ||
	    check_fields(&p, err) == -1 || check_ext_set(&p, err) == -1)
		goto out;
	if (key_ids(&p, err) == -1 || kind(&p, err) == -1 ||
	    key_usage(&p, err) == -1 || eku(&p, err) == -1 ||
	    crldp(&p, err) == -1 ||
	    aia(&p, err) == -1 || sia(&p, err) == -1 ||
	    policies(&p, err) == -1 || resources(&p, err) == -1)
		goto out;
	*out = p.c;
	p.c = NULL;
	rc = 0;
out:
	ca_cert_free(p.c);
	return rc;
}

void
ca_cert_free(struct ca_cert *c)
{
	if (c == NULL)
		return;
	X509_free(c->x509);
	free(c->crldp);
	free(c->aia);
	free(c->sia_repo);
	free(c->sia_mft);
	free(c->sia_notify);
	free(c->sia_signed);
	ca_res_free(c->res);
	free(c);
}
