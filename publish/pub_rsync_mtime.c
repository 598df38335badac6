/* Deterministic mtimes of RPKI objects for the rsync tree (BCP). */
#include "publish/pub_rsync.h"

#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>

static int
asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int
has_ext(const char *uri, const char *const *exts)
{
	const char *dot = strrchr(uri, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return 0;
	for (; *exts != NULL; exts++)
		if (strcmp(dot + 1, *exts) == 0)
			return 1;
	return 0;
}

static int
cms_signing_time(const uint8_t *data, size_t len, int64_t *out)
{
	const unsigned char		*p = data;
	CMS_ContentInfo			*cms;
	STACK_OF(CMS_SignerInfo)	*sis;
	CMS_SignerInfo			*si;
	X509_ATTRIBUTE			*attr;
	ASN1_TYPE			*t;
	int				 idx, rc = -1;

	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL)
		return -1;
	if ((sis = CMS_get0_SignerInfos(cms)) == NULL ||
	    sk_CMS_SignerInfo_num(sis) != 1)
		goto out;
	si = sk_CMS_SignerInfo_value(sis, 0);
	if ((idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime,
	    -1)) < 0 || (attr = CMS_signed_get_attr(si, idx)) == NULL ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL)
		goto out;
	if (t->type == V_ASN1_UTCTIME)
		rc = asn1_time(t->value.utctime, out);
	else if (t->type == V_ASN1_GENERALIZEDTIME)
		rc = asn1_time(t->value.generalizedtime, out);
out:
	CMS_ContentInfo_free(cms);
	return rc;
}

int64_t
pub_rsync_mtime(const char *uri, const uint8_t *data, size_t len)
{
	static const char *const cer[] = { "cer", NULL };
	static const char *const crl[] = { "crl", NULL };
	static const char *const sig[] = { "roa", "mft", "asa", "gbr", "sig",
		"tak", "spl", NULL };
	const unsigned char	*p = data;
	int64_t			 t = PUB_RSYNC_FIXED_MTIME;

	if (has_ext(uri, cer)) {
		X509 *x = d2i_X509(NULL, &p, (long)len);

		if (x == NULL || asn1_time(X509_get0_notBefore(x), &t) == -1)
			t = PUB_RSYNC_FIXED_MTIME;
		X509_free(x);
	} else if (has_ext(uri, crl)) {
		X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);

		if (c == NULL || asn1_time(X509_CRL_get0_lastUpdate(c), &t) == -1)
			t = PUB_RSYNC_FIXED_MTIME;
		X509_CRL_free(c);
	} else if (has_ext(uri, sig)) {
		if (cms_signing_time(data, len, &t) == -1)
			t = PUB_RSYNC_FIXED_MTIME;
	}
	ERR_clear_error();
	/* A time before the epoch or absurdly late is no use to rsync. */
	if (t <= 0 || t > INT64_C(253402300799))
		t = PUB_RSYNC_FIXED_MTIME;
	return t;
}
