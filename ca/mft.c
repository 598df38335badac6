/*
 * ca_mft: RFC 9286 manifest encoder, strict decoder and EE cert rules.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/asn1.h"
#include "ca/cms.h"
#include "ca/mft.h"

#define MFT_MAX_FILES	1000000

void
ca_mft_set_number(struct ca_mft *m, uint64_t n)
{
	size_t	i;

	m->numberlen = 0;
	for (i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(n >> (56 - 8 * i));

		if (b != 0 || m->numberlen > 0)
			m->number[m->numberlen++] = b;
	}
}

int
ca_mft_name_ok(const char *name)
{
	static const char *const ext[] = { "asa", "cer", "crl", "gbr", "mft",
	    "roa", "sig", "spl", "tak" };
	const char	*dot = strchr(name, '.'), *p;
	size_t		 i;

	if (dot == NULL || dot == name || strlen(dot + 1) != 3 ||
	    strlen(name) > CA_MFT_NAME_MAX)
		return 0;
	for (p = name; p < dot; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcmp(dot + 1, ext[i]) == 0)
			return 1;
	return 0;
}

static int
file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ca_mft_file *)a)->name,
	    ((const struct ca_mft_file *)b)->name);
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Names valid and unique (files sorted by name), hashes unique. */
static int
check_files(const char *fn, const struct ca_mft_file *f, size_t n,
    struct cm_err *err)
{
	uint8_t	*h;
	size_t	 i;
	int	 rc = -1;

	for (i = 0; i < n; i++) {
		if (!ca_mft_name_ok(f[i].name))
			return cm_err_set(err, CM_EINVAL, fn,
			    "bad file name \"%.64s\"", f[i].name);
		if (i > 0 && strcmp(f[i - 1].name, f[i].name) >= 0)
			return cm_err_set(err, CM_EINVAL, fn,
			    "file names not sorted or repeated at %s",
			    f[i].name);
	}
	if ((h = malloc(n * 32 + 1)) == NULL)
		return cm_err_set(err, CM_ENOMEM, fn, "out of memory");
	for (i = 0; i < n; i++)
		memcpy(h + 32 * i, f[i].hash, 32);
	qsort(h, n, 32, hash_cmp);
	for (i = 1; i < n; i++)
		if (memcmp(h + 32 * (i - 1), h + 32 * i, 32) == 0)
			break;
	if (n > 1 && i < n)
		cm_err_set(err, CM_EINVAL, fn, "duplicate file hash");
	else
		rc = 0;
	free(h);
	return rc;
}

static int
build(const struct ca_mft *m, const struct ca_mft_file *files,
    CA_Manifest *mf)
{
	CA_FileAndHash	*fh;
	size_t		 i;

	if (!ASN1_STRING_set(mf->manifestNumber, m->number,
	    (int)m->numberlen))
		return -1;
	ASN1_GENERALIZEDTIME_free(mf->thisUpdate);
	ASN1_GENERALIZEDTIME_free(mf->nextUpdate);
	ASN1_OBJECT_free(mf->fileHashAlg);
	mf->thisUpdate = ca_asn1_gentime(m->this_update);
	mf->nextUpdate = ca_asn1_gentime(m->next_update);
	mf->fileHashAlg = ca_asn1_oid(CA_OID_SHA256);
	if (mf->thisUpdate == NULL || mf->nextUpdate == NULL ||
	    mf->fileHashAlg == NULL)
		return -1;
	for (i = 0; i < m->nfiles; i++) {
		if ((fh = CA_FileAndHash_new()) == NULL)
			return -1;
		if (!ASN1_STRING_set(fh->file, files[i].name, -1) ||
		    ca_asn1_bits_set(fh->hash, files[i].hash, 256) ||
		    !sk_CA_FileAndHash_push(mf->fileList, fh)) {
			CA_FileAndHash_free(fh);
			return -1;
		}
	}
	return 0;
}

int
ca_mft_encode(const struct ca_mft *m, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	CA_Manifest		*mf = NULL;
	struct ca_mft_file	*files;
	int			 rc = -1;

	if (m->nfiles == 0 || m->nfiles > MFT_MAX_FILES)
		return cm_err_set(err, CM_EINVAL, "manifest",
		    "need 1..%d files", MFT_MAX_FILES);
	if (m->numberlen > CA_MFT_NUM_MAX ||
	    (m->numberlen > 0 && m->number[0] == 0))
		return cm_err_set(err, CM_EINVAL, "manifest",
		    "bad manifestNumber");
	if (m->this_update >= m->next_update)
		return cm_err_set(err, CM_EINVAL, "manifest",
		    "thisUpdate must be before nextUpdate");
	if ((files = malloc(m->nfiles * sizeof(*files))) == NULL)
		return cm_err_set(err, CM_ENOMEM, "manifest", "out of memory");
	memcpy(files, m->files, m->nfiles * sizeof(*files));
	qsort(files, m->nfiles, sizeof(*files), file_cmp);
	if (check_files("manifest", files, m->nfiles, err))
		goto out;
	if ((mf = CA_Manifest_new()) == NULL || build(m, files, mf)) {
		cm_err_ssl(err, "manifest", "cannot build manifest");
		goto out;
	}
	rc = ca_asn1_i2d(mf, ASN1_ITEM_rptr(CA_Manifest), der, len,
	    "manifest", err);
out:
	CA_Manifest_free(mf);
	free(files);
	return rc;
}

static int
decode_head(const char *fn, const CA_Manifest *mf, struct ca_mft *m,
    struct cm_err *err)
{
	const ASN1_INTEGER *num = mf->manifestNumber;

	if (mf->version != NULL)
		return cm_err_set(err, CM_EINVAL, fn,
		    "manifest version must be omitted");
	if (num->type != V_ASN1_INTEGER || num->length > CA_MFT_NUM_MAX)
		return cm_err_set(err, CM_EINVAL, fn,
		    "manifestNumber negative or longer than 20 octets");
	if (num->length > 0)
		memcpy(m->number, num->data, (size_t)num->length);
	m->numberlen = (size_t)num->length;
	while (m->numberlen > 0 && m->number[0] == 0)
		memmove(m->number, m->number + 1, --m->numberlen);
	if (!ca_asn1_gentime_strict(mf->thisUpdate) ||
	    !ca_asn1_gentime_strict(mf->nextUpdate) ||
	    ca_asn1_time_get(mf->thisUpdate, &m->this_update) ||
	    ca_asn1_time_get(mf->nextUpdate, &m->next_update))
		return cm_err_set(err, CM_EINVAL, fn,
		    "thisUpdate/nextUpdate not YYYYMMDDHHMMSSZ");
	if (m->this_update >= m->next_update)
		return cm_err_set(err, CM_EINVAL, fn,
		    "thisUpdate not before nextUpdate");
	if (!ca_asn1_oid_is(mf->fileHashAlg, CA_OID_SHA256))
		return cm_err_set(err, CM_EINVAL, fn,
		    "fileHashAlg is not sha256");
	return 0;
}

static int
decode_file(const char *fn, const CA_FileAndHash *fh, struct ca_mft_file *f,
    struct cm_err *err)
{
	const ASN1_IA5STRING *s = fh->file;

	if (s->length <= 0 || s->length > CA_MFT_NAME_MAX ||
	    memchr(s->data, '\0', (size_t)s->length) != NULL)
		return cm_err_set(err, CM_EINVAL, fn, "bad file name");
	memcpy(f->name, s->data, (size_t)s->length);
	f->name[s->length] = '\0';
	if (fh->hash->length != 32 || ca_asn1_bits_len(fh->hash) != 256)
		return cm_err_set(err, CM_EINVAL, fn,
		    "%s: hash is not 256 bits", f->name);
	memcpy(f->hash, fh->hash->data, 32);
	return 0;
}

int
ca_mft_decode(const char *fn, const uint8_t *der, size_t len,
    struct ca_mft **out, struct cm_err *err)
{
	CA_Manifest	*mf;
	struct ca_mft	*m = NULL;
	int		 i, n, rc = -1;

	mf = ca_asn1_d2i(der, len, ASN1_ITEM_rptr(CA_Manifest), fn,
	    "Manifest", err);
	if (mf == NULL)
		return -1;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	if (decode_head(fn, mf, m, err))
		goto out;
	n = sk_CA_FileAndHash_num(mf->fileList);
	if (n <= 0 || n > MFT_MAX_FILES) {
		cm_err_set(err, CM_EINVAL, fn, "empty or oversized fileList");
		goto out;
	}
	if ((m->files = calloc((size_t)n, sizeof(*m->files))) == NULL) {
		cm_err_set(err, CM_ENOMEM, fn, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++, m->nfiles++)
		if (decode_file(fn, sk_CA_FileAndHash_value(mf->fileList, i),
		    &m->files[i], err))
			goto out;
	if (check_files(fn, m->files, m->nfiles, err))
		goto out;
	*out = m;
	m = NULL;
	rc = 0;
out:
	ca_mft_free(m);
	CA_Manifest_free(mf);
	return rc;
}

/* Both RFC 3779 extensions present, every element "inherit". */
static int
inherits_all(X509 *ee)
{
	IPAddrBlocks	*ip;
	ASIdentifiers	*as;
	int		 i, ok;

	ip = X509_get_ext_d2i(ee, NID_sbgp_ipAddrBlock, NULL, NULL);
	as = X509_get_ext_d2i(ee, NID_sbgp_autonomousSysNum, NULL, NULL);
	ok = ip != NULL && as != NULL && sk_IPAddressFamily_num(ip) > 0 &&
	    as->asnum != NULL && as->rdi == NULL &&
	    as->asnum->type == ASIdentifierChoice_inherit;
	for (i = 0; ok && i < sk_IPAddressFamily_num(ip); i++)
		ok = sk_IPAddressFamily_value(ip, i)->ipAddressChoice->type ==
		    IPAddressChoice_inherit;
	sk_IPAddressFamily_pop_free(ip, IPAddressFamily_free);
	ASIdentifiers_free(as);
	return ok;
}

int
ca_mft_check_ee(const char *fn, const struct ca_mft *m, X509 *ee,
    struct cm_err *err)
{
	time_t	nb, na;

	if (!inherits_all(ee))
		return cm_err_set(err, CM_EINVAL, fn, "manifest EE cert "
		    "resources must be inherit (IP and AS)");
	if (ca_asn1_time_get(X509_get0_notBefore(ee), &nb) ||
	    ca_asn1_time_get(X509_get0_notAfter(ee), &na) ||
	    nb != m->this_update || na != m->next_update)
		return cm_err_set(err, CM_EINVAL, fn, "manifest EE validity "
		    "differs from thisUpdate..nextUpdate");
	return 0;
}

int
ca_mft_parse(const char *fn, const uint8_t *der, size_t len,
    struct ca_mft **out, X509 **ee, struct cm_err *err)
{
	struct ca_cms_parsed	 p;
	struct ca_mft		*m = NULL;
	int			 rc = -1;

	if (ca_cms_parse(fn, CA_OID_CT_MFT, der, len, &p, err))
		return -1;
	if (ca_mft_decode(fn, p.econtent, p.econtent_len, &m, err) ||
	    ca_mft_check_ee(fn, m, p.ee, err))
		goto out;
	if (p.signing_time > m->next_update) {
		cm_err_set(err, CM_EINVAL, fn,
		    "signing-time after nextUpdate");
		goto out;
	}
	if (ee != NULL) {
		*ee = p.ee;
		p.ee = NULL;
	}
	*out = m;
	m = NULL;
	rc = 0;
out:
	ca_mft_free(m);
	ca_cms_parsed_free(&p);
	return rc;
}

void
ca_mft_free(struct ca_mft *m)
{
	if (m == NULL)
		return;
	free(m->files);
	free(m);
}
