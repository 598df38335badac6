/*
 * ca_eng resource classes of a CA whose parent is remote (RFC 6492
 * §3.3.2): where each class publishes, what the parent listed for it
 * (ca_parent_class, migration 0012), the CA's resources as the union of
 * its classes, and which class may sign a ROA or an ASPA.  The rounds that
 * follow the classes are in engine_parent.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/engine_int.h"
#include "ca/updown.h"
#include "common/cm_enc.h"

/*
 * The CA's resources are the union of what its active keys, one per
 * class, are certified for (ca_resources, what the API shows).
 */
int
eng_class_union(struct db *db, const struct eng_parent *pi, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*all = NULL, *one = NULL, *u = NULL;
	char			*t[3] = { NULL, NULL, NULL };
	const uint8_t		*d, *q;
	size_t			 dl;
	X509			*x = NULL;
	int			 i, n, rc = -1;

	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	if ((n = db_exec(db, "SELECT cert FROM ca_key WHERE ca_id = $1 AND "
	    "state = 'active' AND cert IS NOT NULL", &p, &r, err)) == -1)
		return -1;
	if ((all = ca_res_new()) == NULL) {
		cm_err_set(err, CM_ENOMEM, pi->handle, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (db_res_bytea(r, i, 0, &d, &dl, err) == -1)
			goto out;
		q = d;
		if ((x = d2i_X509(NULL, &q, (long)dl)) == NULL) {
			cm_err_set(err, CM_ESTATE, pi->handle, "a stored "
			    "certificate is corrupt");
			goto out;
		}
		if (ca_res_from_x509(x, pi->handle, &one, err) == -1 ||
		    ca_res_union(all, one, &u, err) == -1)
			goto out;
		X509_free(x);
		x = NULL;
		ca_res_free(one);
		one = NULL;
		ca_res_free(all);
		all = u;
		u = NULL;
	}
	if (eng_res_texts(all, t, err) == -1)
		goto out;
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_text(&p, t[0]);
	db_param_text(&p, t[1]);
	db_param_text(&p, t[2]);
	if (db_exec(db, "UPDATE ca_resources SET asn = $2, ipv4 = $3, ipv6 = $4, "
	    "updated_at = now() WHERE ca_id = $1", &p, NULL, err) == -1)
		goto out;
	rc = 0;
out:
	eng_free_texts(t);
	X509_free(x);
	ca_res_free(one);
	ca_res_free(all);
	ca_res_free(u);
	db_res_free(r);
	return rc;
}

/*
 * The publication point of class name: where its keys publish; for a new
 * class the CA's own directory when no other class uses it, otherwise a
 * subdirectory named after the class (a hash of the name when it is not
 * a plain word: class names are the parent's choice).
 */
int
eng_class_repo(struct ca_eng *e, const struct eng_parent *pi, const char *name,
    char repo[ENG_URI_MAX], struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	uint8_t			 h[32];
	char			 dir[ENG_CLASS_MAX + 8];
	size_t			 i, n = strlen(name);
	int			 plain = n > 0 && n < ENG_CLASS_MAX;

	for (i = 0; i < pi->nclasses; i++)
		if (strcmp(pi->classes[i].name, name) == 0) {
			snprintf(repo, ENG_URI_MAX, "%s", pi->classes[i].repo);
			return 0;
		}
	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_text(&p, name);
	db_param_text(&p, pi->repo);
	if (db_exec(e->db, "SELECT coalesce((SELECT repo_uri FROM "
	    "ca_parent_class WHERE ca_id = $1 AND class = $2), CASE WHEN EXISTS "
	    "(SELECT 1 FROM ca_parent_class WHERE ca_id = $1 AND class <> $2 AND "
	    "repo_uri = $3) OR EXISTS (SELECT 1 FROM ca_key WHERE ca_id = $1 AND "
	    "class <> $2 AND state <> 'revoked' AND repo_uri IS NULL) THEN '' "
	    "ELSE $3 END)", &p, &r, err) == -1)
		return -1;
	snprintf(repo, ENG_URI_MAX, "%s", db_res_text(r, 0, 0));
	db_res_free(r);
	if (*repo != '\0')
		return 0;
	for (i = 0; plain && i < n; i++)
		plain = (name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
		    name[i] == '_';
	if (plain)
		snprintf(dir, sizeof(dir), "%s", name);
	else {
		cm_sha256(name, n, h);
		memcpy(dir, "class-", 6);
		cm_hex_encode(h, 8, dir + 6);
	}
	if ((size_t)snprintf(repo, ENG_URI_MAX, "%s%s/", pi->repo, dir) >=
	    ENG_URI_MAX)
		return cm_err_set(err, CM_EINVAL, pi->handle, "class \"%s\": "
		    "its publication point's URI is too long", name);
	return 0;
}

/* Records what the parent lists for a class (ca_parent_class). */
int
eng_class_note(struct ca_eng *e, const struct eng_parent *pi,
    const struct ca_ud_class *cl, const char *repo, struct cm_err *err)
{
	struct db_params p;

	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	db_param_text(&p, cl->class_name);
	db_param_text(&p, cl->res_as);
	db_param_text(&p, cl->res_v4);
	db_param_text(&p, cl->res_v6);
	db_param_text(&p, repo);
	return db_exec(e->db, "INSERT INTO ca_parent_class (ca_id, class, asn, "
	    "ipv4, ipv6, repo_uri) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT "
	    "(ca_id, class) DO UPDATE SET asn = $3, ipv4 = $4, ipv6 = $5, "
	    "listed_at = now()", &p, NULL, err) == -1 ? -1 : 0;
}

/* Forgets the recorded classes that list a does not name. */
int
eng_class_forget(struct ca_eng *e, const struct eng_parent *pi,
    const struct ca_ud_msg *a, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	size_t			 j;
	int			 i, n, rc = -1;

	db_params_init(&p);
	db_param_int(&p, pi->ca_id);
	if ((n = db_exec(e->db, "SELECT class FROM ca_parent_class WHERE ca_id = "
	    "$1", &p, &r, err)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const char *name = db_res_text(r, i, 0);

		for (j = 0; j < a->nclasses; j++)
			if (strcmp(a->classes[j].class_name, name) == 0)
				break;
		if (j < a->nclasses)
			continue;
		db_params_init(&p);
		db_param_int(&p, pi->ca_id);
		db_param_text(&p, name);
		if (db_exec(e->db, "DELETE FROM ca_parent_class WHERE ca_id = $1 "
		    "AND class = $2", &p, NULL, err) == -1)
			goto out;
	}
	rc = 0;
out:
	db_res_free(r);
	return rc;
}

/* ---- what each class holds -------------------------------------------- */

/*
 * Whether one active key of c's CA holds cfg (ROA when roa, else ASPA):
 * 0, or -1 with the reason (of the last class when none does).
 */
static int
class_holds(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    const void *cfg, int roa, struct cm_err *err)
{
	struct db_params	 p;
	struct db_res		*r = NULL;
	struct ca_res		*res = NULL;
	struct cm_err		 why;
	const uint8_t		*d, *q;
	size_t			 dl;
	X509			*x = NULL;
	char			 names[256] = "";
	int			 i, n, rc = -1;

	(void)e;
	db_params_init(&p);
	db_param_int(&p, c->id);
	if ((n = db_exec(db, "SELECT cert, class FROM ca_key WHERE ca_id = $1 "
	    "AND state = 'active' ORDER BY class", &p, &r, err)) == -1)
		return -1;
	memset(&why, 0, sizeof(why));
	for (i = 0; i < n && rc == -1; i++) {
		if (db_res_bytea(r, i, 0, &d, &dl, err) == -1)
			goto out;
		q = d;
		if ((x = d2i_X509(NULL, &q, (long)dl)) == NULL) {
			cm_err_set(err, CM_ESTATE, c->handle, "a stored "
			    "certificate is corrupt");
			goto out;
		}
		if (ca_res_from_x509(x, c->handle, &res, err) == -1)
			goto out;
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s\"%s\"", i > 0 ? ", " : "", db_res_text(r, i, 1));
		if ((roa ? ca_plan_check_roa(res, cfg, &why) :
		    ca_plan_check_aspa(res, cfg, &why)) == 0)
			rc = 0;
		X509_free(x);
		x = NULL;
		ca_res_free(res);
		res = NULL;
	}
	if (rc == -1)
		cm_err_set(err, CM_EINVAL, c->handle, "%s (the CA's parent "
		    "certifies its resources in %d resource classes, %s, and "
		    "each object must be held by one of them: configure one "
		    "per class)", why.msg, n, names);
out:
	X509_free(x);
	ca_res_free(res);
	db_res_free(r);
	return rc;
}

int
eng_class_check_roa(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    const struct ca_plan_roa_cfg *cfg, struct cm_err *err)
{
	if (c->nactive <= 1)
		return ca_plan_check_roa(c->res, cfg, err);
	return class_holds(e, db, c, cfg, 1, err);
}

int
eng_class_check_aspa(struct ca_eng *e, struct db *db, const struct eng_ca *c,
    const struct ca_plan_aspa_cfg *cfg, struct cm_err *err)
{
	if (c->nactive <= 1)
		return ca_plan_check_aspa(c->res, cfg, err);
	return class_holds(e, db, c, cfg, 0, err);
}
