/*
 * ca_sigobj: one call per signed object: EE cert + eContent + CMS.
 *
 * The EE cert comes from ca_cert_issue() (signed through the signer
 * interface, since the CA key may live in a PKCS#11 token); this file only
 * turns the object's content into the EE resources.
 */
#include <stdlib.h>
#include <string.h>

#include "ca/asn1.h"
#include "ca/cert.h"
#include "ca/cms.h"
#include "ca/resources.h"
#include "ca/sigobj.h"

enum ee_kind { EE_ROA, EE_MFT, EE_ASPA, EE_TAK };

void
ca_sigobj_set_serial(struct ca_sigobj_spec *spec, uint64_t serial)
{
	spec->serial_len = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t b = (uint8_t)(serial >> (8 * i));

		if (b != 0 || spec->serial_len > 0)
			spec->serial[spec->serial_len++] = b;
	}
}

/* The EE resources each object type needs (see sigobj.h). */
static int
ee_res_roa(struct ca_res *r, const struct ca_roa *roa, struct cm_err *err)
{
	struct ca_res_range	 rg;
	enum ca_res_family	 f;
	unsigned		 bits;

	for (size_t i = 0; i < roa->nprefixes; i++) {
		const struct ca_roa_prefix *p = &roa->prefixes[i];

		f = p->afi == CA_AFI_IPV4 ? CA_RES_V4 : CA_RES_V6;
		bits = f == CA_RES_V4 ? 32 : 128;
		memset(&rg, 0, sizeof(rg));
		memcpy(rg.ip_min, p->addr, 16);
		memcpy(rg.ip_max, p->addr, 16);
		for (unsigned b = p->plen; b < bits; b++)
			rg.ip_max[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		if (ca_res_add(r, f, &rg, err) == -1)
			return -1;
	}
	return 0;
}

static struct ca_res *
ee_res(enum ee_kind kind, const void *obj, struct cm_err *err)
{
	struct ca_res		*r = ca_res_new();
	struct ca_res_range	 rg;
	int			 rc = 0;

	if (r == NULL) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	if (kind == EE_ROA)
		rc = ee_res_roa(r, obj, err);
	else if (kind == EE_MFT || kind == EE_TAK) {
		ca_res_set_inherit(r, CA_RES_AS, 1);
		ca_res_set_inherit(r, CA_RES_V4, 1);
		ca_res_set_inherit(r, CA_RES_V6, 1);
	} else {
		memset(&rg, 0, sizeof(rg));
		rg.as_min = rg.as_max = ((const struct ca_aspa *)obj)->customer;
		rc = ca_res_add(r, CA_RES_AS, &rg, err);
	}
	if (rc == -1) {
		ca_res_free(r);
		return NULL;
	}
	return r;
}

/* The EE certificate, from the one certificate builder (ca_cert). */
static X509 *
ee_cert(const struct ca_sigobj_spec *s, enum ee_kind kind, const void *obj,
    time_t nb, time_t na, struct cm_err *err)
{
	struct ca_cert_spec	 cs;
	X509			*x = NULL;

	memset(&cs, 0, sizeof(cs));
	cs.kind = CA_CERT_EE;
	cs.subject_key = s->ee_key;
	cs.issuer = s->issuer;
	cs.issuer_key = s->issuer_key;
	memcpy(cs.serial, s->serial, s->serial_len);
	cs.serial_len = s->serial_len;
	cs.not_before = nb;
	cs.not_after = na;
	cs.crldp = s->crl_uri;
	cs.aia = s->issuer_uri;
	cs.sia_signed = s->object_uri;
	if ((cs.res = ee_res(kind, obj, err)) == NULL ||
	    ca_cert_issue(&cs, &x, err) == -1) {
		cm_err_wrap(err, s->object_uri);
		x = NULL;
	}
	ca_res_free((struct ca_res *)cs.res);
	return x;
}

static int
check_spec(const struct ca_sigobj_spec *s, struct cm_err *err)
{
	if (s->object_uri == NULL || s->crl_uri == NULL ||
	    s->issuer_uri == NULL || s->issuer == NULL ||
	    s->issuer_key == NULL || s->ee_key == NULL)
		return cm_err_set(err, CM_EINVAL, s->object_uri,
		    "incomplete signed-object spec");
	if (s->serial_len == 0 || s->serial_len > CA_SERIAL_MAX ||
	    s->serial[0] == 0)
		return cm_err_set(err, CM_EINVAL, s->object_uri,
		    "bad EE serial");
	return 0;
}

/* The strict parsers, as a re-check of what was just issued. */
static int
reparse(enum ee_kind kind, const char *fn, const uint8_t *der, size_t len,
    struct cm_err *err)
{
	struct ca_roa	*roa = NULL;
	struct ca_mft	*mft = NULL;
	struct ca_aspa	*aspa = NULL;
	struct ca_tak	*tak = NULL;
	int		 rc;

	if (kind == EE_TAK) {
		rc = ca_tak_parse(fn, der, len, &tak, NULL, err);
		ca_tak_free(tak);
		return rc;
	}
	if (kind == EE_ROA)
		rc = ca_roa_parse(fn, der, len, &roa, NULL, err);
	else if (kind == EE_MFT)
		rc = ca_mft_parse(fn, der, len, &mft, NULL, err);
	else
		rc = ca_aspa_parse(fn, der, len, &aspa, NULL, err);
	ca_roa_free(roa);
	ca_mft_free(mft);
	ca_aspa_free(aspa);
	return rc;
}

/* EE cert, CMS, then a strict parse of the result. */
static int
issue(const struct ca_sigobj_spec *s, enum ee_kind kind, const void *obj,
    const char *oid, const uint8_t *ec, size_t eclen, time_t nb, time_t na,
    uint8_t **der, size_t *len, X509 **eeout, struct cm_err *err)
{
	X509	*ee = NULL;
	uint8_t	*out = NULL;
	size_t	 outlen;
	int	 rc = -1;

	if (na <= nb) {
		cm_err_set(err, CM_EINVAL, s->object_uri,
		    "EE notAfter not after notBefore");
		goto out;
	}
	/* RPs warn about (manifests: reject) a signing-time past notAfter. */
	if (s->signing_time > na) {
		cm_err_set(err, CM_EINVAL, s->object_uri,
		    "signing-time after the EE notAfter");
		goto out;
	}
	if ((ee = ee_cert(s, kind, obj, nb, na, err)) == NULL ||
	    ca_cms_sign(s->object_uri, oid, ec, eclen, ee, s->ee_key,
	    s->signing_time, &out, &outlen, err) != 0 ||
	    reparse(kind, s->object_uri, out, outlen, err) != 0)
		goto out;
	*der = out;
	*len = outlen;
	out = NULL;
	if (eeout != NULL) {
		*eeout = ee;
		ee = NULL;
	}
	rc = 0;
out:
	free(out);
	X509_free(ee);
	return rc;
}

int
ca_sigobj_roa(const struct ca_sigobj_spec *s, const struct ca_roa *roa,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_roa_encode(roa, &ec, &eclen, err))
		return -1;
	rc = issue(s, EE_ROA, roa, CA_OID_CT_ROA, ec, eclen, s->not_before,
	    s->not_after, der, len, ee, err);
	free(ec);
	return rc;
}

int
ca_sigobj_mft(const struct ca_sigobj_spec *s, const struct ca_mft *mft,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_mft_encode(mft, &ec, &eclen, err))
		return -1;
	/* RFC 9286 §5.1: EE validity is thisUpdate..nextUpdate. */
	rc = issue(s, EE_MFT, mft, CA_OID_CT_MFT, ec, eclen, mft->this_update,
	    mft->next_update, der, len, ee, err);
	free(ec);
	return rc;
}

int
ca_sigobj_aspa(const struct ca_sigobj_spec *s, const struct ca_aspa *aspa,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_aspa_encode(aspa, &ec, &eclen, err))
		return -1;
	rc = issue(s, EE_ASPA, aspa, CA_OID_CT_ASPA, ec, eclen, s->not_before,
	    s->not_after, der, len, ee, err);
	free(ec);
	return rc;
}

int
ca_sigobj_tak(const struct ca_sigobj_spec *s, const struct ca_tak *tak,
    uint8_t **der, size_t *len, X509 **ee, struct cm_err *err)
{
	uint8_t	*ec = NULL;
	size_t	 eclen;
	int	 rc;

	if (check_spec(s, err) || ca_tak_encode(tak, &ec, &eclen, err))
		return -1;
	rc = issue(s, EE_TAK, tak, CA_OID_CT_TAK, ec, eclen, s->not_before,
	    s->not_after, der, len, ee, err);
	free(ec);
	return rc;
}
