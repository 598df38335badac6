/*
 * API tokens: created here, shown once, stored as their SHA-256 only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "api/api.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"

#define TOKEN_PREFIX	"cairn_"

static int
name_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '@' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

int
api_token_create(struct db *db, const char *name, const char *ca_handle,
    char **token, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	uint8_t			 rnd[32], h[32];
	char			*t;
	int			 n;

	*token = NULL;
	if (!name_ok(name))
		return cm_err_set(err, CM_EINVAL, name, "a token name is 1 to "
		    "128 letters, digits, '.', '_', '@' or '-', starting with a "
		    "letter or digit");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cm_err_ssl(err, "token", "no random bytes");
	if ((t = malloc(sizeof(TOKEN_PREFIX) + 64)) == NULL)
		return cm_err_set(err, CM_ENOMEM, "token", "out of memory");
	memcpy(t, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	cm_hex_encode(rnd, sizeof(rnd), t + sizeof(TOKEN_PREFIX) - 1);
	cm_sha256(t, strlen(t), h);
	db_params_init(&p);
	db_param_text(&p, name);
	db_param_bytea(&p, h, sizeof(h));
	db_param_text(&p, ca_handle);
	n = db_exec(db, "INSERT INTO api_token (name, hash, admin, ca_id) "
	    "SELECT $1, $2, $3::text IS NULL, (SELECT id FROM ca WHERE handle "
	    "= $3 AND deleted_at IS NULL) WHERE $3::text IS NULL OR EXISTS "
	    "(SELECT 1 FROM ca WHERE handle = $3 AND deleted_at IS NULL)",
	    &p, &r, err);
	db_res_free(r);
	if (n == -1) {
		free(t);
		if (err->code == CM_EEXIST)
			return cm_err_set(err, CM_EEXIST, name, "a token of this "
			    "name exists (names stay taken after revocation)");
		return -1;
	}
	if (n == 0) {
		free(t);
		return cm_err_set(err, CM_ENOTFOUND, ca_handle, "no such CA");
	}
	*token = t;
	return 0;
}

int
api_token_revoke(struct db *db, const char *name, struct cm_err *err)
{
	struct db_params	p;
	int			n;

	db_params_init(&p);
	db_param_text(&p, name);
	n = db_exec(db, "UPDATE api_token SET revoked_at = now() WHERE name = "
	    "$1 AND revoked_at IS NULL", &p, NULL, err);
	if (n == -1)
		return -1;
	if (n == 0)
		return cm_err_set(err, CM_ENOTFOUND, name, "no such token (or "
		    "already revoked)");
	return 0;
}

int
api_token_list(struct db *db, char **out, struct cm_err *err)
{
	struct db_res	*r = NULL;
	struct cm_buf	 b = CM_BUF_INIT;
	int		 i, n;

	*out = NULL;
	n = db_exec(db, "SELECT t.name, CASE WHEN t.admin THEN 'admin' ELSE "
	    "'ca:' || c.handle END, to_char(t.created_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(t.revoked_at "
	    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-') "
	    "FROM api_token t LEFT JOIN ca c ON c.id = t.ca_id ORDER BY t.name",
	    NULL, &r, err);
	if (n == -1)
		return -1;
	if (cm_buf_puts(&b, "") == -1)
		goto nomem;
	for (i = 0; i < n; i++)
		if (cm_buf_printf(&b, "%s\t%s\t%s\t%s\n", db_res_text(r, i, 0),
		    db_res_text(r, i, 1), db_res_text(r, i, 2),
		    db_res_text(r, i, 3)) == -1)
			goto nomem;
	db_res_free(r);
	if (cm_buf_add(&b, "", 1) == -1) {
		cm_buf_free(&b);
		return cm_err_set(err, CM_ENOMEM, "token", "out of memory");
	}
	*out = (char *)cm_buf_steal(&b, NULL);
	return 0;
nomem:
	db_res_free(r);
	cm_buf_free(&b);
	return cm_err_set(err, CM_ENOMEM, "token", "out of memory");
}

int
api_token_check(struct db *db, const char *token, struct api_principal *out,
    struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	uint8_t			 h[32];
	int			 n, rc = -1;

	memset(out, 0, sizeof(*out));
	cm_sha256(token, strlen(token), h);
	db_params_init(&p);
	db_param_bytea(&p, h, sizeof(h));
	n = db_exec(db, "SELECT id, name, admin, coalesce(ca_id, 0) FROM "
	    "api_token WHERE hash = $1 AND revoked_at IS NULL", &p, &r, err);
	if (n <= 0) {
		db_res_free(r);
		return n;
	}
	if (db_res_int64(r, 0, 0, &out->id, err) == -1 ||
	    db_res_int64(r, 0, 3, &out->ca_id, err) == -1)
		goto out;
	snprintf(out->name, sizeof(out->name), "%s", db_res_text(r, 0, 1));
	out->admin = strcmp(db_res_text(r, 0, 2), "t") == 0;
	rc = 1;
out:
	db_res_free(r);
	return rc;
}
