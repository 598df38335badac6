/*
 * cairn CLI: a CA's signed objects: roa, aspa, router-cert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api/cairn_cmd.h"
#include "common/cm_buf.h"
#include "common/cm_enc.h"
#include "common/cm_err.h"
#include "common/cm_file.h"

static void
print_roas(const struct opts *o, json_t *j)
{
	json_t	*r;
	size_t	 i;

	printf("%-12s %-44s %s\n", "ASN", "PREFIX", "MAX-LENGTH");
	json_array_foreach(json_object_get(j, "roas"), i, r)
		printf("AS%-10lld %-44s %lld\n", cmd_ji(r, "asn"),
		    cmd_js(r, "prefix"), cmd_ji(r, "max_length"));
}

int
c_roa_list(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/roas", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_roas);
}

/* roa add|remove HANDLE ASN PREFIX [--max-length N] */
static int
roa_change(struct opts *o, const char *op)
{
	json_t		*e;
	json_int_t	 asn;
	char		 p[1200], *end;
	long		 ml;

	if (cmd_parse_asn(o->pos[1], &asn) == -1) {
		fprintf(stderr, "cairn: %s: not an AS number\n", o->pos[1]);
		return EX_USAGE;
	}
	e = json_pack("{s:I, s:s}", "asn", asn, "prefix", o->pos[2]);
	if (o->max_length != NULL) {
		ml = strtol(o->max_length, &end, 10);
		if (*o->max_length == '\0' || *end != '\0' || ml < 0 ||
		    ml > 128) {
			json_decref(e);
			fprintf(stderr, "cairn: --max-length: not a length\n");
			return EX_USAGE;
		}
		json_object_set_new(e, "max_length", json_integer(ml));
	}
	cmd_path(p, sizeof(p), "/api/v1/cas/%s/roas", o->pos[0]);
	return cmd_run(o, "POST", p, json_pack("{s:[o]}", op, e), print_roas);
}

int
c_roa_add(struct opts *o)
{
	return roa_change(o, "add");
}

int
c_roa_remove(struct opts *o)
{
	return roa_change(o, "remove");
}

static void
print_aspa(const struct opts *o, json_t *a)
{
	json_t	*v;
	size_t	 i;

	printf("AS%-10lld", cmd_ji(a, "customer"));
	json_array_foreach(json_object_get(a, "providers"), i, v)
		printf("%sAS%lld", i == 0 ? " " : ",",
		    (long long)json_integer_value(v));
	putchar('\n');
}

static void
print_aspas(const struct opts *o, json_t *j)
{
	json_t	*a;
	size_t	 i;

	printf("%-12s %s\n", "CUSTOMER", "PROVIDERS");
	json_array_foreach(json_object_get(j, "aspas"), i, a)
		print_aspa(o, a);
}

int
c_aspa_list(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/aspas", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_aspas);
}

static int
aspa_path(struct opts *o, char *p, size_t len)
{
	json_int_t	asn;
	char		h[1200];

	if (cmd_parse_asn(o->pos[1], &asn) == -1) {
		fprintf(stderr, "cairn: %s: not an AS number\n", o->pos[1]);
		return EX_USAGE;
	}
	cmd_path(h, sizeof(h), "%s", o->pos[0]);
	snprintf(p, len, "/api/v1/cas/%s/aspas/%lld", h, (long long)asn);
	return EX_OK;
}

int
c_aspa_set(struct opts *o)
{
	json_t	*arr;
	char	 p[1300];
	int	 rc;

	if ((rc = aspa_path(o, p, sizeof(p))) != EX_OK ||
	    (rc = cmd_parse_asn_list(o->pos[2], &arr)) != EX_OK)
		return rc;
	return cmd_run(o, "PUT", p, json_pack("{s:o}", "providers", arr),
	    print_aspa);
}

static void
print_aspa_removed(const struct opts *o, json_t *j)
{
	printf("removed the ASPA of %s\n", o->pos[1]);
}

int
c_aspa_remove(struct opts *o)
{
	char	p[1300];
	int	rc;

	if ((rc = aspa_path(o, p, sizeof(p))) != EX_OK)
		return rc;
	return cmd_run(o, "DELETE", p, NULL, print_aspa_removed);
}

/*
 * The base64 DER of the PKCS#10 request in path (PEM or DER) to b64.
 * EX_OK, or EX_USAGE after a message.
 */
static int
read_csr(const char *path, struct cm_buf *b64)
{
	struct cm_err	 err;
	uint8_t		*buf = NULL, *der = NULL;
	size_t		 len;
	X509_REQ	*req = NULL;
	BIO		*bio;
	int		 n, rc = EX_USAGE;

	if (cm_file_read(path, 1024 * 1024, &buf, &len, &err) == -1) {
		fprintf(stderr, "cairn: %s\n", err.msg);
		return EX_USAGE;
	}
	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		bio = BIO_new_mem_buf(buf, (int)len);
		req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
		if (req == NULL || (n = i2d_X509_REQ(req, &der)) <= 0) {
			fprintf(stderr, "cairn: %s: not a PEM certificate "
			    "request\n", path);
			goto out;
		}
		cm_b64_encode(der, (size_t)n, b64);
	} else
		cm_b64_encode(buf, len, b64);
	rc = EX_OK;
out:
	free(buf);
	OPENSSL_free(der);
	X509_REQ_free(req);
	return rc;
}

static void
print_router_added(const struct opts *o, json_t *j)
{
	printf("router key certified by %s\n", o->pos[0]);
}

/* router-cert add HANDLE CSR-FILE ASN[,ASN...] */
int
c_router_add(struct opts *o)
{
	struct cm_buf	 b64 = CM_BUF_INIT;
	json_t		*arr;
	char		 p[1200];
	int		 rc;

	if ((rc = cmd_parse_asn_list(o->pos[2], &arr)) != EX_OK)
		return rc;
	if ((rc = read_csr(o->pos[1], &b64)) == EX_OK) {
		cmd_path(p, sizeof(p), "/api/v1/cas/%s/routers", o->pos[0]);
		rc = cmd_run(o, "POST", p, json_pack("{s:s, s:O}", "csr",
		    cm_buf_cstr(&b64), "asns", arr), print_router_added);
	}
	json_decref(arr);
	cm_buf_free(&b64);
	return rc;
}

static void
print_routers(const struct opts *o, json_t *j)
{
	json_t	*r;
	size_t	 i;

	printf("%-40s %-20s %s\n", "KEY", "NOT-AFTER", "ASNS");
	json_array_foreach(json_object_get(j, "routers"), i, r)
		printf("%-40s %-20s %s\n", cmd_js(r, "key"),
		    cmd_js(r, "not_after"), cmd_js(r, "asns"));
}

/* router-cert list HANDLE, router-cert remove HANDLE KEY */
int
c_router_list(struct opts *o)
{
	char	p[1200];

	cmd_path(p, sizeof(p), "/api/v1/cas/%s/routers", o->pos[0]);
	return cmd_run(o, "GET", p, NULL, print_routers);
}

static void
print_router_removed(const struct opts *o, json_t *j)
{
	printf("removed the router certificate of key %s\n", o->pos[1]);
}

int
c_router_remove(struct opts *o)
{
	char	p[1200], k[200];

	cmd_path(k, sizeof(k), "%s", o->pos[1]);
	cmd_path(p, sizeof(p), "/api/v1/cas/%s/routers/", o->pos[0]);
	strncat(p, k, sizeof(p) - strlen(p) - 1);
	return cmd_run(o, "DELETE", p, NULL, print_router_removed);
}
