/* The publication server's BPKI identity and reply signing. */
#include "publish/pub_bpki.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ca/bpki.h"
#include "ca/cms_msg.h"

#define EE_LIFE		86400
#define EE_RENEW	(EE_LIFE / 2)

struct pub_bpki {
	EVP_PKEY	*key;
	X509		*cert;
	pthread_mutex_t	 mu;
	EVP_PKEY	*eekey;		/* guarded by mu */
	X509		*ee;
	X509_CRL	*crl;
	time_t		 made;
};

/* A certificate for key, by issuer (NULL: self-signed CA). */
static X509 *
mkcert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, const char *cn,
    time_t nb, time_t na)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	struct cm_err	 err;
	int		 ok;

	ok = x != NULL && n != NULL && X509_set_version(x, 2) &&
	    ca_bpki_serial(x, &err) == 0 && X509_NAME_add_entry_by_txt(n, "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
	    X509_set_subject_name(x, n) &&
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    n) && X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) &&
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) &&
	    X509_set_pubkey(x, key) &&
	    ca_bpki_add_ext(x, issuer ? issuer : x,
	    NID_subject_key_identifier, "hash") == 0;
	if (ok && issuer == NULL)
		ok = ca_bpki_add_ext(x, x, NID_basic_constraints,
		    "critical,CA:TRUE") == 0;
	else if (ok)
		ok = ca_bpki_add_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always") == 0;
	if (ok)
		ok = X509_sign(x, ikey, EVP_sha256()) > 0;
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
pub_bpki_create(const char *key_path, const char *cert_path, const char *cn,
    struct cm_err *err)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	FILE		*f = NULL;
	time_t		 now = time(NULL);
	int		 fd, rc = -1;

	if (access(key_path, F_OK) == 0 || access(cert_path, F_OK) == 0)
		return cm_err_set(err, CM_EEXIST, key_path, "BPKI identity "
		    "files exist; not overwritten");
	if ((key = EVP_RSA_gen(2048)) == NULL ||
	    (x = mkcert(key, NULL, key, cn, now - 300,
	    now + 10 * 365 * 86400L)) == NULL) {
		cm_err_ssl(err, cn, "BPKI identity");
		goto out;
	}
	if ((fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		cm_err_set(err, CM_EIO, key_path, "cannot create: %m");
		goto out;
	}
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0) {
		f = NULL;
		cm_err_set(err, CM_EIO, key_path, "write failed");
		goto out;
	}
	if ((f = fopen(cert_path, "wx")) == NULL) {
		cm_err_set(err, CM_EIO, cert_path, "cannot create: %m");
		goto out;
	}
	if (!PEM_write_X509(f, x) || fclose(f) != 0) {
		f = NULL;
		cm_err_set(err, CM_EIO, cert_path, "write failed");
		goto out;
	}
	f = NULL;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

struct pub_bpki *
pub_bpki_load(const char *key_path, const char *cert_path, struct cm_err *err)
{
	struct pub_bpki	*b;
	FILE		*f;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		cm_err_set(err, CM_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	if ((f = fopen(key_path, "r")) == NULL) {
		cm_err_set(err, CM_EIO, key_path, "cannot open: %m");
		goto fail;
	}
	b->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (b->key == NULL) {
		cm_err_ssl(err, key_path, "not a PEM private key");
		goto fail;
	}
	if ((f = fopen(cert_path, "r")) == NULL) {
		cm_err_set(err, CM_EIO, cert_path, "cannot open: %m");
		goto fail;
	}
	b->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (b->cert == NULL) {
		cm_err_ssl(err, cert_path, "not a PEM certificate");
		goto fail;
	}
	if (X509_check_private_key(b->cert, b->key) != 1) {
		cm_err_ssl(err, cert_path, "does not match key %s", key_path);
		goto fail;
	}
	return b;
fail:
	pub_bpki_free(b);
	return NULL;
}

void
pub_bpki_free(struct pub_bpki *b)
{
	if (b == NULL)
		return;
	EVP_PKEY_free(b->key);
	X509_free(b->cert);
	EVP_PKEY_free(b->eekey);
	X509_free(b->ee);
	X509_CRL_free(b->crl);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

X509 *
pub_bpki_cert(const struct pub_bpki *b)
{
	return b->cert;
}

int
pub_bpki_cert_der(const struct pub_bpki *b, uint8_t **der, size_t *len,
    struct cm_err *err)
{
	unsigned char	*p = NULL;
	int		 n;

	if ((n = i2d_X509(b->cert, &p)) <= 0)
		return cm_err_ssl(err, "BPKI", "cannot encode the certificate");
	*der = p;
	*len = (size_t)n;
	return 0;
}

int
pub_bpki_issue(const struct pub_bpki *b, EVP_PKEY *eekey, time_t now,
    X509 **ee, X509_CRL **crl, struct cm_err *err)
{
	X509_CRL	*c = X509_CRL_new();
	ASN1_TIME	*t = NULL;
	X509		*x;
	int		 ok;

	*ee = NULL;
	*crl = NULL;
	x = mkcert(eekey, b->cert, b->key, "cairn-pubd-ee", now - 300,
	    now + EE_LIFE);
	ok = x != NULL && c != NULL && (t = ASN1_TIME_set(NULL, now - 300))
	    != NULL && X509_CRL_set_version(c, 1) &&
	    X509_CRL_set_issuer_name(c, X509_get_subject_name(b->cert)) &&
	    X509_CRL_set1_lastUpdate(c, t) &&
	    ASN1_TIME_set(t, now + EE_LIFE) != NULL &&
	    X509_CRL_set1_nextUpdate(c, t) &&
	    X509_CRL_sign(c, b->key, EVP_sha256()) > 0;
	ASN1_TIME_free(t);
	if (!ok) {
		X509_free(x);
		X509_CRL_free(c);
		return cm_err_ssl(err, "BPKI", "cannot issue the EE certificate "
		    "and CRL");
	}
	*ee = x;
	*crl = c;
	return 0;
}

int
pub_bpki_sign(struct pub_bpki *b, const uint8_t *xml, size_t len, time_t now,
    uint8_t **der, size_t *derlen, struct cm_err *err)
{
	EVP_PKEY	*k;
	X509		*ee;
	X509_CRL	*crl;
	int		 rc = -1;

	pthread_mutex_lock(&b->mu);
	if (b->ee == NULL || now - b->made >= EE_RENEW || now < b->made) {
		if ((k = EVP_RSA_gen(2048)) == NULL) {
			cm_err_ssl(err, "BPKI", "EE key generation");
			goto out;
		}
		if (pub_bpki_issue(b, k, now, &ee, &crl, err) == -1) {
			EVP_PKEY_free(k);
			goto out;
		}
		EVP_PKEY_free(b->eekey);
		X509_free(b->ee);
		X509_CRL_free(b->crl);
		b->eekey = k;
		b->ee = ee;
		b->crl = crl;
		b->made = now;
	}
	rc = ca_cms_msg_sign("cairn-pubd", xml, len, b->ee, b->eekey, b->crl,
	    now, der, derlen, err);
out:
	pthread_mutex_unlock(&b->mu);
	return rc;
}
