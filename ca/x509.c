/*
 * ca_x509: field checks shared by the strict certificate and CRL parsers.
 */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/x509.h"

int
ca_x509_check_alg(const char *fn, const X509_ALGOR *a, const char *where,
    struct cm_err *err)
{
	const ASN1_OBJECT	*obj;
	int			 ptype;

	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	if (OBJ_obj2nid(obj) != NID_sha256WithRSAEncryption)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 7935 §2: %s is not "
		    "sha256WithRSAEncryption", where);
	if (ptype != V_ASN1_NULL)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 7935 §2: %s "
		    "parameters must be NULL", where);
	return 0;
}

int
ca_x509_check_name(const char *fn, const char *what, const X509_NAME *n,
    struct cm_err *err)
{
	const X509_NAME_ENTRY	*e;
	const ASN1_STRING	*v;
	int			 count, nid, cn = 0, sn = 0;

	count = X509_NAME_entry_count(n);
	if (count < 1 || count > 2)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.4: %s must "
		    "be one commonName and optionally one serialNumber", what);
	for (int i = 0; i < count; i++) {
		e = X509_NAME_get_entry(n, i);
		if (X509_NAME_ENTRY_set(e) != i)
			return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.4: "
			    "%s has a multi-valued RDN", what);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid == NID_commonName)
			cn++;
		else if (nid == NID_serialNumber)
			sn++;
		else
			return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.4: "
			    "%s has an attribute other than commonName and "
			    "serialNumber", what);
		v = X509_NAME_ENTRY_get_data(e);
		if (ASN1_STRING_type(v) != V_ASN1_PRINTABLESTRING)
			return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.4: "
			    "%s %s is not a PrintableString", what,
			    nid == NID_commonName ? "commonName" :
			    "serialNumber");
	}
	if (cn != 1 || sn > 1)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 6487 §4.4: %s must "
		    "be one commonName and optionally one serialNumber", what);
	return 0;
}

int
ca_x509_check_time(const char *fn, const char *what, const ASN1_TIME *t,
    time_t *out, struct cm_err *err)
{
	int	len = t == NULL ? 0 : t->length, digits = len - 1;

	if (t == NULL || (t->type != V_ASN1_UTCTIME &&
	    t->type != V_ASN1_GENERALIZEDTIME) ||
	    len != (t->type == V_ASN1_UTCTIME ? 13 : 15) ||
	    t->data[digits] != 'Z')
		return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 §4.1.2.5: %s "
		    "must be YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ", what);
	for (int i = 0; i < digits; i++)
		if (t->data[i] < '0' || t->data[i] > '9')
			return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 "
			    "§4.1.2.5: %s has a non-digit", what);
	if (!ASN1_TIME_check(t) || ca_asn1_time_get(t, out) == -1)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 §4.1.2.5: %s "
		    "is not a valid time", what);
	/* 2050-01-01T00:00:00Z: the switch from UTCTime to GeneralizedTime. */
	if (t->type == V_ASN1_GENERALIZEDTIME && *out < 2524608000)
		return cm_err_set(err, CM_EINVAL, fn, "RFC 5280 §4.1.2.5: %s "
		    "before 2050 must be UTCTime", what);
	return 0;
}

int
ca_x509_check_int(const ASN1_INTEGER *ai, int positive)
{
	int	zero = 1;

	if (ai == NULL || ai->type != V_ASN1_INTEGER || ai->length < 1)
		return -1;
	/* The DER content has a leading zero octet when the top bit is set. */
	if (ai->length + ((ai->data[0] & 0x80) != 0) > 20)
		return -1;
	for (int i = 0; i < ai->length; i++)
		zero &= ai->data[i] == 0;
	return positive && zero ? -1 : 0;
}

int
ca_x509_check_ext_der(const char *fn, const X509_EXTENSION *e,
    struct cm_err *err)
{
	const X509V3_EXT_METHOD	*m = X509V3_EXT_get((X509_EXTENSION *)e);
	const ASN1_OCTET_STRING	*os = X509_EXTENSION_get_data(
	    (X509_EXTENSION *)e);
	const unsigned char	*p = os->data;
	unsigned char		*re = NULL;
	ASN1_VALUE		*v = NULL;
	char			 name[80];
	int			 n, rc = -1;

	OBJ_obj2txt(name, sizeof(name), X509_EXTENSION_get_object(
	    (X509_EXTENSION *)e), 0);
	if (m == NULL || m->it == NULL)
		return cm_err_set(err, CM_EINVAL, fn, "extension %s is not "
		    "supported", name);
	v = ASN1_item_d2i(NULL, &p, os->length, ASN1_ITEM_ptr(m->it));
	if (v == NULL || p != os->data + os->length) {
		cm_err_set(err, CM_EINVAL, fn, "extension %s does not decode "
		    "exactly", name);
		goto out;
	}
	n = ASN1_item_i2d(v, &re, ASN1_ITEM_ptr(m->it));
	if (n != os->length || memcmp(re, os->data, (size_t)n) != 0) {
		cm_err_set(err, CM_EINVAL, fn, "extension %s is not DER",
		    name);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(re);
	ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
	return rc;
}
