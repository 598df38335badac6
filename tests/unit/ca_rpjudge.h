/*
 * Helpers shared by the signed-object tests that ask rpki-client 8.2
 * (installed with the test dependencies) to judge what ca_sigobj_*()
 * made (test_ca_sigobj.c, test_ca_tak.c): an issuing TA, a scratch cache
 * with the TA's TAL, certificate and CRL, a manifest over the files, and
 * a run of rpki-client in file mode.  Each fails the running test on an
 * error of its own; include after <cmocka.h>.
 */
#ifndef CA_RPJUDGE_H
#define CA_RPJUDGE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/cert.h"
#include "ca/mft.h"
#include "ca/sigobj.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_file.h"
#include "hsm/hsm.h"

/*
 * A TA from ca_cert_issue() with key k, holding all resources, valid from
 * a day before now for a year, or NULL.
 */
static inline X509 *
rpjudge_issuer_ta(struct hsm_key *k, time_t now)
{
	struct ca_cert_spec	 s;
	struct ca_res		*r = ca_res_new();
	struct cm_err		 err;
	X509			*x = NULL;

	if (r == NULL || ca_res_parse(r, CA_RES_AS, "1-4294967295", "t",
	    &err) != 0 || ca_res_parse(r, CA_RES_V4, "0.0.0.0/0", "t",
	    &err) != 0 || ca_res_parse(r, CA_RES_V6, "::/0", "t", &err) != 0)
		goto out;
	memset(&s, 0, sizeof(s));
	s.kind = CA_CERT_TA;
	s.subject_key = hsm_key_pubkey(k);
	s.issuer_key = k;
	s.serial[0] = 1;
	s.serial_len = 1;
	s.not_before = now - 86400;
	s.not_after = now + 365 * 86400;
	s.sia_repo = "rsync://rpki.test/repo/ca/";
	s.sia_mft = "rsync://rpki.test/repo/ca/ca.mft";
	s.res = r;
	if (ca_cert_issue(&s, &x, &err) != 0)
		x = NULL;
out:
	ca_res_free(r);
	return x;
}

static inline void
rpjudge_write(const char *dir, const char *name, const void *d, size_t n)
{
	char		path[512];
	struct cm_err	err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(cm_file_write_atomic(path, d, n, 0644, &err), 0);
}

/*
 * Makes the scratch directory dir (a mkdtemp() template) with the TAL and
 * the certificate of ta in it, and the TA's CRL (an empty one from OpenSSL
 * directly, signed with k) as file f of the manifest.
 */
static inline void
rpjudge_dir(char *dir, X509 *ta, struct hsm_key *k, time_t now,
    struct ca_mft_file *f)
{
	X509_CRL	*crl = X509_CRL_new();
	ASN1_TIME	*t = ASN1_TIME_set(NULL, now - 60);
	ASN1_INTEGER	*num = ASN1_INTEGER_new();
	X509V3_CTX	 v3;
	X509_EXTENSION	*e;
	struct cm_buf	 b = CM_BUF_INIT;
	unsigned char	*der = NULL, *cer = NULL;
	char		 cmd[256];
	int		 n, m;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/cache/rpki.test/repo/ca "
	    "%s/cache/ta/test", dir, dir);
	assert_int_equal(system(cmd), 0);

	n = i2d_PUBKEY(X509_get0_pubkey(ta), &der);
	m = i2d_X509(ta, &cer);
	cm_buf_puts(&b, "rsync://rpki.test/repo/ta.cer\n\n");
	cm_b64_encode(der, (size_t)n, &b);
	cm_buf_puts(&b, "\n");
	rpjudge_write(dir, "test.tal", b.data, b.len);
	rpjudge_write(dir, "cache/rpki.test/repo/ta.cer", cer, (size_t)m);
	rpjudge_write(dir, "cache/ta/test/ta.cer", cer, (size_t)m);
	cm_buf_free(&b);
	OPENSSL_free(der);
	OPENSSL_free(cer);
	der = NULL;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ta));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, now + 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	X509V3_set_ctx(&v3, ta, NULL, NULL, crl, 0);
	e = X509V3_EXT_nconf_nid(NULL, &v3, NID_authority_key_identifier,
	    "keyid:always");
	ASN1_INTEGER_set(num, 1);
	assert_true(X509_CRL_add_ext(crl, e, -1) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) &&
	    X509_CRL_sign(crl, hsm_key_pubkey(k), EVP_sha256()));
	n = i2d_X509_CRL(crl, &der);
	rpjudge_write(dir, "cache/rpki.test/repo/ca/ca.crl", der, (size_t)n);
	strcpy(f->name, "ca.crl");
	cm_sha256(der, (size_t)n, f->hash);
	OPENSSL_free(der);
	X509_EXTENSION_free(e);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

/*
 * Writes der as file name of the CA's directory and fills f, its entry in
 * the manifest.
 */
static inline void
rpjudge_put(const char *dir, const char *name, const uint8_t *der,
    size_t len, struct ca_mft_file *f)
{
	char	path[256];

	snprintf(path, sizeof(path), "cache/rpki.test/repo/ca/%s", name);
	rpjudge_write(dir, path, der, len);
	snprintf(f->name, sizeof(f->name), "%s", name);
	cm_sha256(der, len, f->hash);
}

/* The manifest m, signed as s says with the one-time key ee, into dir. */
static inline void
rpjudge_mft(const char *dir, struct ca_sigobj_spec *s, const struct ca_mft *m,
    EVP_PKEY *ee)
{
	struct cm_err	 err;
	uint8_t		*der;
	size_t		 len;

	s->object_uri = "rsync://rpki.test/repo/ca/ca.mft";
	s->ee_key = ee;
	ca_sigobj_set_serial(s, 2);
	assert_int_equal(ca_sigobj_mft(s, m, &der, &len, NULL, &err), 0);
	rpjudge_write(dir, "cache/rpki.test/repo/ca/ca.mft", der, len);
	free(der);
}

/*
 * rpki-client in file mode on file of the CA's directory must say
 * "Validation: OK", nothing on stderr, and, when also is not NULL, print
 * a line containing also.
 */
static inline void
rpjudge_check(const char *dir, const char *file, const char *also)
{
	char		cmd[1024], out[512];
	struct stat	st;
	FILE		*p;
	int		ok = 0, seen = 0;

	snprintf(cmd, sizeof(cmd), "cd %s && timeout 120 rpki-client -t "
	    "test.tal -d %s/cache -f cache/rpki.test/repo/ca/%s 2>%s/err",
	    dir, dir, file, dir);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(out, sizeof(out), p) != NULL) {
		ok |= strcmp(out, "Validation: OK\n") == 0;
		seen |= also != NULL && strstr(out, also) != NULL;
	}
	assert_int_equal(pclose(p), 0);
	if (!ok)
		fail_msg("rpki-client did not validate %s", file);
	if (also != NULL && !seen)
		fail_msg("rpki-client did not print \"%s\" for %s", also, file);
	snprintf(cmd, sizeof(cmd), "%s/err", dir);
	assert_int_equal(stat(cmd, &st), 0);
	assert_int_equal(st.st_size, 0);
}

/* Removes the scratch directory. */
static inline void
rpjudge_rm(const char *dir)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

#endif
