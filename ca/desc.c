/*
 * ca_desc: apply a text description of a CA hierarchy to the engine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/desc.h"

#define MAXTOK	64

/* Splits line (modified) into whitespace-separated tokens. */
static size_t
tokens(char *line, char *tok[MAXTOK])
{
	size_t	 n = 0;
	char	*s, *save = NULL;

	if ((s = strchr(line, '#')) != NULL)
		*s = '\0';
	for (s = strtok_r(line, " \t\r", &save); s != NULL && n < MAXTOK;
	    s = strtok_r(NULL, " \t\r", &save))
		tok[n++] = s;
	return n;
}

static int
parse_u32(const char *s, uint32_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (strncmp(s, "AS", 2) == 0)
		s += 2;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 4294967295ULL)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
ca_desc_parse_res(char **tok, size_t n, const char *where, struct ca_res **out,
    struct cm_err *err)
{
	struct ca_res	*r;
	size_t		 i;
	int		 rc;

	if ((r = ca_res_new()) == NULL)
		return cm_err_set(err, CM_ENOMEM, where, "out of memory");
	for (i = 0; i < n; i++) {
		if (strncmp(tok[i], "as=", 3) == 0)
			rc = ca_res_parse(r, CA_RES_AS, tok[i] + 3, where, err);
		else if (strncmp(tok[i], "v4=", 3) == 0)
			rc = ca_res_parse(r, CA_RES_V4, tok[i] + 3, where, err);
		else if (strncmp(tok[i], "v6=", 3) == 0)
			rc = ca_res_parse(r, CA_RES_V6, tok[i] + 3, where, err);
		else
			rc = cm_err_set(err, CM_EINVAL, where,
			    "expected as=, v4= or v6=, got \"%s\"", tok[i]);
		if (rc == -1) {
			ca_res_free(r);
			return -1;
		}
	}
	*out = r;
	return 0;
}

static int
do_ca(struct ca_eng *e, char **tok, size_t n, int ta, const char *where,
    const char *actor, size_t *applied, struct cm_err *err)
{
	struct ca_res	*r = NULL;
	struct cm_err	 e2;
	size_t		 skip = ta ? 2 : 3;
	int		 rc;

	if (n < skip)
		return cm_err_set(err, CM_EINVAL, where, "%s needs %s", tok[0],
		    ta ? "NAME" : "NAME PARENT");
	if (ca_desc_parse_res(tok + skip, n - skip, where, &r, err) == -1)
		return -1;
	if (ta)
		rc = ca_eng_ta_create(e, tok[1], r, actor, &e2);
	else
		rc = ca_eng_ca_create(e, tok[1], tok[2], r, actor, &e2);
	if (rc == 0)
		(*applied)++;
	else if (e2.code == CM_EEXIST && !ta) {
		/* Exists: bring its resources in line (no-op if equal). */
		if ((rc = ca_eng_ca_set_resources(e, tok[1], r, actor, &e2)) > 0)
			(*applied)++;
		if (rc > 0)
			rc = 0;
	} else if (e2.code == CM_EEXIST)
		rc = 0;		/* a trust anchor's resources stay as they are */
	if (rc == -1) {
		*err = e2;
		cm_err_wrap(err, where);
	}
	ca_res_free(r);
	return rc;
}

static int
do_roa(struct ca_eng *e, char **tok, size_t n, const char *where,
    const char *actor, size_t *applied, struct cm_err *err)
{
	struct ca_plan_roa_cfg	c;
	struct cm_err		e2;
	size_t			i;

	if (n < 4)
		return cm_err_set(err, CM_EINVAL, where,
		    "roa needs CA ASN PREFIX[-MAXLEN]...");
	memset(&c, 0, sizeof(c));
	if (parse_u32(tok[2], &c.asn) == -1)
		return cm_err_set(err, CM_EINVAL, where, "bad AS number \"%s\"",
		    tok[2]);
	for (i = 3; i < n; i++) {
		if (ca_roa_prefix_parse(tok[i], &c.prefix, err) == -1)
			return cm_err_wrap(err, where);
		if (ca_eng_roa_update(e, tok[1], &c, 1, NULL, 0, actor, &e2) == 0)
			(*applied)++;
		else if (e2.code != CM_EEXIST) {
			*err = e2;
			return cm_err_wrap(err, where);
		}
	}
	return 0;
}

static int
do_aspa(struct ca_eng *e, char **tok, size_t n, const char *where,
    const char *actor, size_t *applied, struct cm_err *err)
{
	struct ca_plan_aspa_cfg	 c;
	uint32_t		 prov[256];
	char			*s, *save = NULL;
	size_t			 k = 0;

	if (n != 4)
		return cm_err_set(err, CM_EINVAL, where,
		    "aspa needs CA CUSTOMER PROVIDER[,PROVIDER...]");
	memset(&c, 0, sizeof(c));
	if (parse_u32(tok[2], &c.customer) == -1)
		return cm_err_set(err, CM_EINVAL, where, "bad AS number \"%s\"",
		    tok[2]);
	for (s = strtok_r(tok[3], ",", &save); s != NULL;
	    s = strtok_r(NULL, ",", &save)) {
		if (k == sizeof(prov) / sizeof(prov[0]))
			return cm_err_set(err, CM_ELIMIT, where,
			    "more than %zu providers on one line", k);
		if (parse_u32(s, &prov[k++]) == -1)
			return cm_err_set(err, CM_EINVAL, where,
			    "bad provider AS \"%s\"", s);
	}
	c.providers = prov;
	c.nproviders = k;
	switch (ca_eng_aspa_set(e, tok[1], &c, actor, err)) {
	case -1:
		return cm_err_wrap(err, where);
	case 0:
		return 0;
	default:
		(*applied)++;
		return 0;
	}
}

int
ca_desc_apply(struct ca_eng *e, const char *name, const char *text,
    const char *actor, size_t *applied, struct cm_err *err)
{
	char		*copy, *line, *save = NULL, *tok[MAXTOK], where[300];
	size_t		 n, lineno = 0, dummy = 0;
	int		 rc = 0;

	if (applied == NULL)
		applied = &dummy;
	*applied = 0;
	if ((copy = strdup(text)) == NULL)
		return cm_err_set(err, CM_ENOMEM, name, "out of memory");
	/* strsep keeps empty lines, so that line numbers stay right. */
	save = copy;
	while (rc == 0 && (line = strsep(&save, "\n")) != NULL) {
		lineno++;
		if ((n = tokens(line, tok)) == 0)
			continue;
		snprintf(where, sizeof(where), "%s:%zu", name, lineno);
		if (strcmp(tok[0], "ta") == 0 || strcmp(tok[0], "ca") == 0)
			rc = do_ca(e, tok, n, tok[0][0] == 't', where, actor,
			    applied, err);
		else if (strcmp(tok[0], "roa") == 0)
			rc = do_roa(e, tok, n, where, actor, applied, err);
		else if (strcmp(tok[0], "aspa") == 0)
			rc = do_aspa(e, tok, n, where, actor, applied, err);
		else
			rc = cm_err_set(err, CM_EINVAL, where,
			    "unknown statement \"%s\" (ta, ca, roa, aspa)", tok[0]);
	}
	free(copy);
	return rc;
}
