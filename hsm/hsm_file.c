/*
 * File signer backend, for development only: each private key is an
 * unencrypted PKCS#8 PEM file <dir>/<id>.pem, mode 0600, written
 * atomically.  Anyone who can read the directory can sign as the CA, which
 * is why every open logs a warning and why files that group or others may
 * read are refused.
 */
#include "hsm/hsm_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "common/cm_file.h"
#include "common/cm_log.h"

#define FILE_KEY_MAX	16384	/* bytes; an RSA-2048 PEM key is ~1.7 kB */

struct file_state {
	char	*dir;
};

/* The file of key id (canonical lowercase, see hsm_key_find()). */
static int
key_path(const struct file_state *st, const char *id, char *path,
    struct cm_err *err)
{
	if (snprintf(path, PATH_MAX, "%s/%s.pem", st->dir, id) >= PATH_MAX)
		return cm_err_set(err, CM_EINVAL, st->dir, "path too long");
	return 0;
}

/* The PEM text: a readable label line (PEM readers skip it), then the key. */
static int
key_write(const char *path, EVP_PKEY *pkey, const char *label,
    struct cm_err *err)
{
	BIO	*b = BIO_new(BIO_s_secmem());
	char	*data;
	long	 len;
	int	 rc = -1;

	if (b == NULL ||
	    BIO_printf(b, "label: %s\n", label ? label : "") < 0 ||
	    !PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(b, &data)) <= 0)
		goto ssl;
	rc = cm_file_write_atomic(path, data, (size_t)len, 0600, err);
	BIO_free(b);
	return rc;
ssl:
	BIO_free(b);
	return cm_err_ssl(err, path, "cannot encode the private key");
}

static int
file_key_create(struct hsm *h, const char *label, struct hsm_key **out,
    struct cm_err *err)
{
	struct file_state	*st = h->impl;
	char			 path[PATH_MAX];
	struct hsm_key		*k;
	EVP_PKEY		*pkey;

	if ((pkey = hsm__rsa_generate(err)) == NULL)
		return -1;
	k = hsm__key_new(h, pkey, err);
	EVP_PKEY_free(pkey);
	if (k == NULL)
		return -1;
	if (key_path(st, k->id, path, err) == -1 ||
	    key_write(path, k->pub, label, err) == -1) {
		hsm_key_free(k);
		return -1;
	}
	cm_info("%s: created key file (%s)", path, label ? label : "no label");
	*out = k;
	return 0;
}

/* Reads and parses the key file; refuses links and loose permissions. */
static EVP_PKEY *
key_read(const char *path, const char *id, struct cm_err *err)
{
	struct stat	 sb;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	BIO		*b;
	EVP_PKEY	*pkey = NULL;

	if (lstat(path, &sb) == -1) {
		cm_err_set(err, errno == ENOENT ? CM_ENOTFOUND : CM_EIO, id,
		    "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		cm_err_set(err, CM_EPERM, path, "not a regular file");
		return NULL;
	}
	if (sb.st_mode & 077) {
		cm_err_set(err, CM_EPERM, path, "key file may be read by group "
		    "or others (mode %04o); it must be 0600",
		    (unsigned)(sb.st_mode & 07777));
		return NULL;
	}
	if (cm_file_read(path, FILE_KEY_MAX, &buf, &len, err) == -1)
		return NULL;
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (pkey == NULL) {
		cm_err_ssl(err, path, "not a PEM private key");
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pkey) != 2048) {
		EVP_PKEY_free(pkey);
		cm_err_set(err, CM_EINVAL, path, "not an RSA-2048 key (RFC "
		    "7935)");
		return NULL;
	}
	return pkey;
}

static int
file_key_find(struct hsm *h, const char *id, struct hsm_key **out,
    struct cm_err *err)
{
	struct file_state	*st = h->impl;
	char			 path[PATH_MAX];
	struct hsm_key		*k;
	EVP_PKEY		*pkey;

	if (key_path(st, id, path, err) == -1 ||
	    (pkey = key_read(path, id, err)) == NULL)
		return -1;
	k = hsm__key_new(h, pkey, err);
	EVP_PKEY_free(pkey);
	if (k == NULL)
		return -1;
	/* The name is the id of the key inside; a renamed file is an error. */
	if (strcmp(k->id, id) != 0) {
		cm_err_set(err, CM_EINVAL, path, "file holds another key (id %s)",
		    k->id);
		hsm_key_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

static int
file_key_destroy(struct hsm_key *k, struct cm_err *err)
{
	struct file_state	*st = k->hsm->impl;
	char			 path[PATH_MAX];
	int			 fd, rc = 0;

	if (key_path(st, k->id, path, err) == -1)
		return -1;
	if (unlink(path) == -1)
		return cm_err_set(err, errno == ENOENT ? CM_ENOTFOUND : CM_EIO,
		    path, "unlink: %s", strerror(errno));
	/* The removal must survive a crash like the creation does. */
	if ((fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		rc = cm_err_set(err, CM_EIO, st->dir, "fsync: %s",
		    strerror(errno));
	if (fd != -1)
		close(fd);
	if (rc == 0)
		cm_info("%s: destroyed key file", path);
	return rc;
}

static int
file_key_sign(struct hsm_key *k, const uint8_t digest[32], uint8_t *sig,
    size_t *siglen, struct cm_err *err)
{
	/* The handle's key is the full private key read from the file. */
	return hsm__evp_sign(k->pub, digest, sig, siglen, err);
}

static void
file_close(struct hsm *h)
{
	struct file_state	*st = h->impl;

	free(st->dir);
	free(st);
	free(h);
}

static const struct hsm_ops file_ops = {
	.name = "file",
	.key_create = file_key_create,
	.key_find = file_key_find,
	.key_destroy = file_key_destroy,
	.key_sign = file_key_sign,
	.key_release = NULL,
	.close = file_close,
};

struct hsm *
hsm_open_file(const char *dir, struct cm_err *err)
{
	struct hsm		*h;
	struct file_state	*st = NULL;
	struct stat		 sb;

	if (dir == NULL || *dir == '\0') {
		cm_err_set(err, CM_EINVAL, "file signer", "no key directory");
		return NULL;
	}
	if (cm_mkdirs(dir, 0700, err) == -1)
		return NULL;
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		cm_err_set(err, CM_EIO, dir, "not a directory");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (st = calloc(1, sizeof(*st))) == NULL ||
	    (st->dir = strdup(dir)) == NULL) {
		free(st);
		free(h);
		cm_err_set(err, CM_ENOMEM, dir, "out of memory");
		return NULL;
	}
	h->ops = &file_ops;
	h->impl = st;
	cm_warn("%s: FILE SIGNER, FOR DEVELOPMENT ONLY: private keys are "
	    "stored unencrypted in this directory; use the pkcs11 signer in "
	    "production", dir);
	if (sb.st_mode & 077)
		cm_warn("%s: the key directory may be read by group or others "
		    "(mode %04o)", dir, (unsigned)(sb.st_mode & 07777));
	return h;
}
