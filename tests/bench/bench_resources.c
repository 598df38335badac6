/*
 * Resource set throughput on a large, RIR-sized IPv4 set: n disjoint /24s
 * (every other /24 from 10.0.0.0) and a subset (every fourth one).
 *
 *  1. ca_res_parse / ca_res_print of the text form.
 *  2. ca_res_union / _intersect / _subtract / _contains.
 *  3. Containment against OpenSSL's X509v3_addr_subset on the same sets
 *     (the baseline), and ca_res_to_x509 against building the same
 *     IPAddrBlocks with X509v3_addr_add_prefix + X509v3_addr_canonize.
 *
 * Usage: bench_resources [n-prefixes]   (default 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "ca/resources.h"
#include "common/cm_buf.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct cm_err *err)
{
	fprintf(stderr, "bench_resources: %s: %s\n", what,
	    err != NULL ? err->msg : "failed");
	exit(1);
}

/* Every step-th /24 from 10.0.0.0, n of them, as RFC 6492 text. */
static char *
text_set(size_t n, size_t step)
{
	struct cm_buf	b = CM_BUF_INIT;
	size_t		k;

	for (size_t i = 0; i < n; i++) {
		k = i * step;
		if (cm_buf_printf(&b, "%s%zu.%zu.%zu.0/24", i ? "," : "",
		    10 + k / 65536, k / 256 % 256, k % 256) == -1)
			die("text", NULL);
	}
	if (cm_buf_cstr(&b) == NULL)
		die("text", NULL);
	return (char *)cm_buf_steal(&b, NULL);
}

static IPAddrBlocks *
openssl_set(size_t n, size_t step)
{
	IPAddrBlocks	*a = sk_IPAddressFamily_new_null();
	unsigned char	 p[4];
	size_t		 k;

	for (size_t i = 0; a != NULL && i < n; i++) {
		k = i * step;
		p[0] = (unsigned char)(10 + k / 65536);
		p[1] = (unsigned char)(k / 256 % 256);
		p[2] = (unsigned char)(k % 256);
		p[3] = 0;
		if (!X509v3_addr_add_prefix(a, IANA_AFI_IPV4, NULL, p, 24))
			die("X509v3_addr_add_prefix", NULL);
	}
	if (a == NULL || !X509v3_addr_canonize(a))
		die("X509v3_addr_canonize", NULL);
	return a;
}

int
main(int argc, char **argv)
{
	size_t		 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	char		*ta, *tb, *s;
	struct ca_res	*a = ca_res_new(), *b = ca_res_new(), *o;
	struct cm_err	 err;
	IPAddrBlocks	*xa, *xb, *x;
	ASIdentifiers	*xs;
	double		 t, t_ours, t_ssl;
	int		 rc;

	if (n == 0 || n > 4000000 || a == NULL || b == NULL)
		die("usage: bench_resources [n-prefixes <= 4000000]", NULL);
	ta = text_set(n, 2);
	tb = text_set(n / 2, 4);
	printf("set A: %zu /24s (%zu bytes of text), set B: %zu /24s\n", n,
	    strlen(ta), n / 2);

	t = now();
	if (ca_res_parse(a, CA_RES_V4, ta, "A", &err) == -1 ||
	    ca_res_parse(b, CA_RES_V4, tb, "B", &err) == -1)
		die("parse", &err);
	printf("parse:      %8.1f ms (%.0f ranges/s)\n", (now() - t) * 1e3,
	    (double)(n + n / 2) / (now() - t));
	t = now();
	if (ca_res_print(a, CA_RES_V4, &s, &err) == -1)
		die("print", &err);
	printf("print:      %8.1f ms\n", (now() - t) * 1e3);
	if (strcmp(s, ta) != 0)
		die("print differs from the input", NULL);
	free(s);

	t = now();
	if (ca_res_union(a, b, &o, &err) == -1)
		die("union", &err);
	printf("union:      %8.1f ms\n", (now() - t) * 1e3);
	ca_res_free(o);
	t = now();
	if (ca_res_intersect(a, b, &o, &err) == -1)
		die("intersect", &err);
	printf("intersect:  %8.1f ms\n", (now() - t) * 1e3);
	ca_res_free(o);
	t = now();
	if (ca_res_subtract(a, b, &o, &err) == -1)
		die("subtract", &err);
	printf("subtract:   %8.1f ms (%zu ranges left)\n", (now() - t) * 1e3,
	    ca_res_count(o, CA_RES_V4));
	ca_res_free(o);

	t = now();
	rc = ca_res_contains(a, b, &err);
	t_ours = now() - t;
	xa = openssl_set(n, 2);
	xb = openssl_set(n / 2, 4);
	t = now();
	if (X509v3_addr_subset(xb, xa) != rc)
		die("containment results differ", NULL);
	t_ssl = now() - t;
	printf("contains:   %8.1f ms; X509v3_addr_subset %8.1f ms; "
	    "ratio %.1fx\n", t_ours * 1e3, t_ssl * 1e3, t_ssl / t_ours);

	t = now();
	if (ca_res_to_x509(a, &x, &xs, &err) == -1)
		die("to_x509", &err);
	t_ours = now() - t;
	sk_IPAddressFamily_pop_free(x, IPAddressFamily_free);
	sk_IPAddressFamily_pop_free(xa, IPAddressFamily_free);
	t = now();
	xa = openssl_set(n, 2);
	t_ssl = now() - t;
	printf("to_x509:    %8.1f ms; add_prefix+canonize %8.1f ms; "
	    "ratio %.2fx\n", t_ours * 1e3, t_ssl * 1e3, t_ssl / t_ours);

	sk_IPAddressFamily_pop_free(xa, IPAddressFamily_free);
	sk_IPAddressFamily_pop_free(xb, IPAddressFamily_free);
	ca_res_free(a);
	ca_res_free(b);
	free(ta);
	free(tb);
	return 0;
}
