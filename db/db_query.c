/*
 * Statements: parameters, plain and prepared execution, results, and the
 * translation of server errors (SQLSTATE) into cm_err codes.
 */
#include "db/db_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_INT8	20
#define OID_INT2	21
#define OID_INT4	23
#define OID_TEXT	25
#define OID_VARCHAR	1043

struct db_res {
	PGresult	*res;
	void		**dec;		/* bytea decoded from hex, PQfreemem */
	size_t		 ndec;
};

void
db_params_init(struct db_params *p)
{
	memset(p, 0, sizeof(*p));
}

/* Appends one parameter; on overflow the call fails later in db_exec. */
static void
param_add(struct db_params *p, const char *val, int len, int fmt)
{
	if (p->n >= DB_MAXPARAMS) {
		p->overflow = 1;
		return;
	}
	p->val[p->n] = val;
	p->len[p->n] = len;
	p->fmt[p->n] = fmt;
	p->n++;
}

void
db_param_text(struct db_params *p, const char *s)
{
	param_add(p, s, 0, 0);
}

void
db_param_int(struct db_params *p, int64_t v)
{
	if (p->n >= DB_MAXPARAMS) {
		p->overflow = 1;
		return;
	}
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, v);
	param_add(p, p->num[p->n], 0, 0);
}

void
db_param_bytea(struct db_params *p, const void *data, size_t len)
{
	/* libpq needs a non-NULL pointer for an empty non-NULL value. */
	if (data == NULL) {
		param_add(p, NULL, 0, 1);
		return;
	}
	if (len > INT32_MAX) {
		p->overflow = 1;
		return;
	}
	param_add(p, len > 0 ? data : "", (int)len, 1);
}

/*
 * Whether the error ended the session (server shutdown or crash, the
 * backend terminated): the server reports it with severity FATAL or PANIC.
 */
static int
res_is_fatal(const PGresult *res)
{
	const char	*sev;

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	return sev != NULL && (strcmp(sev, "FATAL") == 0 ||
	    strcmp(sev, "PANIC") == 0);
}

static enum cm_errcode
state_code(const char *st)
{
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strcmp(st, "55P03") == 0)
		return CM_ERETRY;
	if (strcmp(st, "23505") == 0)
		return CM_EEXIST;
	if (strcmp(st, "53100") == 0)	/* disk full */
		return CM_EIO;
	return CM_EDB;
}

/*
 * Checks a result.  On failure records the SQLSTATE, fills err (the start
 * of the statement names it) and returns -1; a lost session is CM_ERETRY.
 */
static int
res_check(struct db *db, PGresult *res, const char *sql, struct cm_err *err)
{
	const char	*st, *primary, *detail;
	char		 what[48];

	switch (res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return 0;
	default:
		break;
	}
	snprintf(what, sizeof(what), "%s", sql);
	for (char *p = what; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (strlen(sql) >= sizeof(what))
		memcpy(what + sizeof(what) - 4, "...", 4);
	st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (st == NULL || res_is_fatal(res) ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		if (st != NULL)
			snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", st);
		return db__lost(db, what, primary, err);
	}
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", st);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	return cm_err_set(err, state_code(st), "db", "%s: %s%s%s [SQLSTATE %s]",
	    what, primary != NULL ? primary : "error",
	    detail != NULL ? ": " : "", detail != NULL ? detail : "", st);
}

/* Checks res, counts rows, hands it to *out or frees it. */
static int
finish(struct db *db, PGresult *res, const char *sql, struct db_res **out,
    struct cm_err *err)
{
	struct db_res	*r;
	int		 n = 0;

	if (res_check(db, res, sql, err) == -1) {
		PQclear(res);
		return -1;
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		n = PQntuples(res);
	else if (*PQcmdTuples(res) != '\0')
		n = atoi(PQcmdTuples(res));
	if (out == NULL) {
		PQclear(res);
		return n;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		PQclear(res);
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	}
	r->res = res;
	*out = r;
	return n;
}

static int
start(struct db *db, const struct db_params *p, struct cm_err *err)
{
	if (p != NULL && p->overflow)
		return cm_err_set(err, CM_EINVAL, "db", "more than %d parameters "
		    "or a value over 2 GB", DB_MAXPARAMS);
	db->sqlstate[0] = '\0';
	return db__ensure(db, err);
}

int
db_exec(struct db *db, const char *sql, const struct db_params *p,
    struct db_res **out, struct cm_err *err)
{
	PGresult	*res;

	if (start(db, p, err) == -1)
		return -1;
	if (p == NULL)
		res = PQexec(db->conn, sql);
	else
		res = PQexecParams(db->conn, sql, p->n, NULL, p->val, p->len,
		    p->fmt, p->binary_results);
	return finish(db, res, sql, out, err);
}

int
db_prepare(struct db *db, const char *sql, struct db_stmt **out,
    struct cm_err *err)
{
	struct db_stmt	*st;

	for (st = db->stmts; st != NULL; st = st->next)
		if (strcmp(st->sql, sql) == 0) {
			*out = st;
			return 0;
		}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->sql = strdup(sql)) == NULL) {
		free(st);
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	}
	snprintf(st->name, sizeof(st->name), "cairn_%u", db->nstmts++);
	st->next = db->stmts;
	db->stmts = st;
	*out = st;
	return 0;
}

int
db_exec_stmt(struct db *db, struct db_stmt *st, const struct db_params *p,
    struct db_res **out, struct cm_err *err)
{
	PGresult	*res;

	if (start(db, p, err) == -1)
		return -1;
	if (st->gen != db->gen) {
		res = PQprepare(db->conn, st->name, st->sql, 0, NULL);
		if (finish(db, res, st->sql, NULL, err) == -1)
			return -1;
		st->gen = db->gen;
	}
	if (p == NULL)
		res = PQexecPrepared(db->conn, st->name, 0, NULL, NULL, NULL, 0);
	else
		res = PQexecPrepared(db->conn, st->name, p->n, p->val, p->len,
		    p->fmt, p->binary_results);
	return finish(db, res, st->sql, out, err);
}

void
db_res_free(struct db_res *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->ndec; i++)
		PQfreemem(r->dec[i]);
	free(r->dec);
	PQclear(r->res);
	free(r);
}

int
db_res_rows(const struct db_res *r)
{
	return PQntuples(r->res);
}

int
db_res_cols(const struct db_res *r)
{
	return PQnfields(r->res);
}

int
db_res_isnull(const struct db_res *r, int row, int col)
{
	return PQgetisnull(r->res, row, col);
}

const char *
db_res_text(const struct db_res *r, int row, int col)
{
	/* libpq NUL-terminates every value, binary ones included. */
	return PQgetvalue(r->res, row, col);
}

static int
parse_int(const char *s, int64_t *v)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*v = n;
	return 0;
}

int
db_res_int64(const struct db_res *r, int row, int col, int64_t *v,
    struct cm_err *err)
{
	const uint8_t	*p;
	uint64_t	 u = 0;
	int		 len;
	Oid		 t;

	if (PQgetisnull(r->res, row, col))
		return cm_err_set(err, CM_EINVAL, PQfname(r->res, col),
		    "NULL where a number was expected");
	p = (const uint8_t *)PQgetvalue(r->res, row, col);
	len = PQgetlength(r->res, row, col);
	t = PQftype(r->res, col);
	if (PQfformat(r->res, col) == 1 && t != OID_TEXT && t != OID_VARCHAR) {
		if (!((t == OID_INT8 && len == 8) || (t == OID_INT4 && len == 4) ||
		    (t == OID_INT2 && len == 2)))
			return cm_err_set(err, CM_EINVAL, PQfname(r->res, col),
			    "binary column of type %u is not an integer", t);
		for (int i = 0; i < len; i++)
			u = u << 8 | p[i];
		/* Sign-extend the big-endian two's complement value. */
		if (len < 8 && (p[0] & 0x80))
			u |= ~(uint64_t)0 << (len * 8);
		*v = (int64_t)u;
		return 0;
	}
	if (parse_int((const char *)p, v) == -1)
		return cm_err_set(err, CM_EINVAL, PQfname(r->res, col),
		    "not an integer: \"%.32s\"", (const char *)p);
	return 0;
}

int
db_res_bytea(struct db_res *r, int row, int col, const uint8_t **data,
    size_t *len, struct cm_err *err)
{
	unsigned char	*dec;
	void		**tmp;
	size_t		 n;

	if (PQgetisnull(r->res, row, col))
		return cm_err_set(err, CM_EINVAL, PQfname(r->res, col),
		    "NULL where bytes were expected");
	if (PQfformat(r->res, col) == 1) {
		*data = (const uint8_t *)PQgetvalue(r->res, row, col);
		*len = (size_t)PQgetlength(r->res, row, col);
		return 0;
	}
	tmp = reallocarray(r->dec, r->ndec + 1, sizeof(*r->dec));
	if (tmp == NULL)
		return cm_err_set(err, CM_ENOMEM, "db", "out of memory");
	r->dec = tmp;
	dec = PQunescapeBytea((const unsigned char *)PQgetvalue(r->res, row,
	    col), &n);
	if (dec == NULL)
		return cm_err_set(err, CM_EINVAL, PQfname(r->res, col),
		    "bad bytea text");
	r->dec[r->ndec++] = dec;
	*data = dec;
	*len = n;
	return 0;
}
