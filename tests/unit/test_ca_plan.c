/* Unit tests for ca/plan: configuration -> ROA/ASPA payloads -> diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ca/plan.h"

static struct ca_res *
res_of(const char *as, const char *v4, const char *v6)
{
	struct ca_res	*r = ca_res_new();
	struct cm_err	 err;

	assert_non_null(r);
	assert_int_equal(ca_res_parse(r, CA_RES_AS, as, "as", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V4, v4, "v4", &err), 0);
	assert_int_equal(ca_res_parse(r, CA_RES_V6, v6, "v6", &err), 0);
	return r;
}

static struct ca_plan_roa_cfg
roa(uint32_t asn, const char *pfx)
{
	struct ca_plan_roa_cfg	c;
	struct cm_err		err;

	memset(&c, 0, sizeof(c));
	c.asn = asn;
	if (ca_roa_prefix_parse(pfx, &c.prefix, &err) != 0)
		fail_msg("%s: %s", pfx, err.msg);
	return c;
}

static void
test_check_roa(void **state)
{
	struct ca_res		*r = res_of("64496", "10.0.0.0/16", "2001:db8::/32");
	struct ca_plan_roa_cfg	 c;
	struct cm_err		 err;

	c = roa(64496, "10.0.0.0/16-24");
	assert_int_equal(ca_plan_check_roa(r, &c, &err), 0);
	c = roa(65000, "10.0.128.0/17");	/* the AS need not be held */
	assert_int_equal(ca_plan_check_roa(r, &c, &err), 0);
	c = roa(64496, "10.1.0.0/16");
	assert_int_equal(ca_plan_check_roa(r, &c, &err), -1);
	assert_string_equal(err.msg, "AS64496 10.1.0.0/16: the prefix is not "
	    "within the CA's resources");
	c = roa(64496, "10.0.0.0/8");		/* larger than held */
	assert_int_equal(ca_plan_check_roa(r, &c, &err), -1);
	c = roa(64496, "10.0.0.0/16");
	c.prefix.maxlen = 15;
	assert_int_equal(ca_plan_check_roa(r, &c, &err), -1);
	assert_non_null(strstr(err.msg, "maxLength 15 must lie between"));
	c.prefix.maxlen = 33;
	assert_int_equal(ca_plan_check_roa(r, &c, &err), -1);
	c = roa(64496, "2001:db8::/32-128");
	assert_int_equal(ca_plan_check_roa(r, &c, &err), 0);
	c.prefix.maxlen = 129;
	assert_int_equal(ca_plan_check_roa(r, &c, &err), -1);
	c = roa(64496, "10.0.0.0/16");
	c.prefix.addr[3] = 1;			/* host bit */
	assert_int_equal(ca_plan_check_roa(r, &c, &err), -1);
	assert_non_null(strstr(err.msg, "host bits"));
	ca_res_free(r);
}

static void
test_check_aspa(void **state)
{
	struct ca_res		*r = res_of("64496-64500", "", "");
	uint32_t		 ok[] = { 64511, 65000 }, self[] = { 64496, 1 },
				 mixed[] = { 0, 5 }, zero[] = { 0 };
	struct ca_plan_aspa_cfg	 c = { 64496, ok, 2 };
	struct cm_err		 err;

	assert_int_equal(ca_plan_check_aspa(r, &c, &err), 0);
	c.customer = 64501;
	assert_int_equal(ca_plan_check_aspa(r, &c, &err), -1);
	assert_non_null(strstr(err.msg, "not within the CA's resources"));
	c = (struct ca_plan_aspa_cfg){ 64496, self, 2 };
	assert_int_equal(ca_plan_check_aspa(r, &c, &err), -1);
	assert_non_null(strstr(err.msg, "its own provider"));
	c = (struct ca_plan_aspa_cfg){ 64496, mixed, 2 };
	assert_int_equal(ca_plan_check_aspa(r, &c, &err), -1);
	assert_non_null(strstr(err.msg, "AS0 is only allowed"));
	c = (struct ca_plan_aspa_cfg){ 64496, zero, 1 };
	assert_int_equal(ca_plan_check_aspa(r, &c, &err), 0);
	c = (struct ca_plan_aspa_cfg){ 64496, zero, 0 };
	assert_int_equal(ca_plan_check_aspa(r, &c, &err), -1);
	ca_res_free(r);
}

static void
test_build_per_asn(void **state)
{
	struct ca_res		*r = res_of("64496", "10.0.0.0/8", "2001:db8::/32");
	struct ca_plan_roa_cfg	 cfg[] = {
		roa(64497, "10.2.0.0/16"),
		roa(64496, "2001:db8::/48"),
		roa(64496, "10.1.0.0/16-24"),
		roa(64496, "10.1.0.0/16-24"),	/* duplicate */
		roa(64496, "192.0.2.0/24"),	/* not held: skipped */
	};
	uint32_t		 p1[] = { 65001, 65000 }, p2[] = { 65000, 65002 };
	struct ca_plan_aspa_cfg	 aspa[] = { { 64496, p1, 2 }, { 64496, p2, 2 } };
	struct ca_plan		*p;
	struct cm_err		 err;

	assert_int_equal(ca_plan_build(r, CA_PLAN_ROA_PER_ASN, cfg, 5, aspa, 2,
	    &p, &err), 0);
	assert_int_equal(p->nobjs, 3);
	assert_string_equal(p->objs[0].subject, "aspa AS64496");
	assert_string_equal(p->objs[1].subject, "roa AS64496");
	assert_string_equal(p->objs[2].subject, "roa AS64497");
	assert_int_equal(p->objs[1].roa->nprefixes, 2);
	assert_int_equal(p->objs[1].roa->prefixes[0].afi, CA_AFI_IPV4);
	assert_int_equal(p->objs[0].aspa->nproviders, 3);
	assert_int_equal(p->objs[0].aspa->providers[0], 65000);
	assert_int_equal(p->objs[0].aspa->providers[2], 65002);
	assert_int_equal(p->nskipped, 1);
	assert_non_null(strstr(p->skipped[0], "AS64496 192.0.2.0/24"));
	assert_int_equal(strlen(p->objs[1].name), 20);
	assert_string_equal(p->objs[1].name + 16, ".roa");
	assert_string_equal(p->objs[0].name + 16, ".asa");
	assert_true(strcmp(p->objs[1].name, p->objs[2].name) != 0);
	ca_plan_free(p);
	ca_res_free(r);
}

static void
test_build_per_prefix_and_diff(void **state)
{
	struct ca_res		*r = res_of("", "10.0.0.0/8", "");
	struct ca_plan_roa_cfg	 cfg[] = {
		roa(64496, "10.1.0.0/16"),
		roa(64496, "10.2.0.0/16"),
		roa(64496, "10.2.0.0/16"),
	};
	struct ca_plan		*a, *b;
	struct ca_plan_have	 have[3];
	enum ca_plan_action	 wa[4], ha[3];
	struct cm_err		 err;
	size_t			 i;

	assert_int_equal(ca_plan_build(r, CA_PLAN_ROA_PER_PREFIX, cfg, 3, NULL,
	    0, &a, &err), 0);
	assert_int_equal(a->nobjs, 2);
	assert_string_equal(a->objs[0].subject, "roa AS64496 10.1.0.0/16");

	/* Nothing issued yet: everything is ISSUE. */
	assert_int_equal(ca_plan_diff(a, NULL, 0, wa, ha, &err), 2);
	assert_int_equal(wa[0], CA_PLAN_ISSUE);

	/* All issued and equal: nothing to do. */
	for (i = 0; i < 2; i++) {
		have[i].subject = a->objs[1 - i].subject;	/* any order */
		memcpy(have[i].content_hash, a->objs[1 - i].content_hash, 32);
		have[i].renew = 0;
	}
	assert_int_equal(ca_plan_diff(a, have, 2, wa, ha, &err), 0);
	assert_int_equal(ha[0], CA_PLAN_KEEP);

	/* A renewal re-signs only that object. */
	have[0].renew = 1;
	assert_int_equal(ca_plan_diff(a, have, 2, wa, ha, &err), 1);
	assert_int_equal(wa[1], CA_PLAN_ISSUE);
	assert_int_equal(wa[0], CA_PLAN_KEEP);
	have[0].renew = 0;

	/* The CA loses 10.2.0.0/16: that ROA is withdrawn, the other kept. */
	ca_res_free(r);
	r = res_of("", "10.1.0.0/16", "");
	assert_int_equal(ca_plan_build(r, CA_PLAN_ROA_PER_PREFIX, cfg, 3, NULL,
	    0, &b, &err), 0);
	assert_int_equal(b->nobjs, 1);
	assert_int_equal(b->nskipped, 2);
	have[2].subject = "roa AS1 192.0.2.0/24";	/* stale leftover */
	memset(have[2].content_hash, 0, 32);
	have[2].renew = 0;
	assert_int_equal(ca_plan_diff(b, have, 3, wa, ha, &err), 2);
	assert_int_equal(wa[0], CA_PLAN_KEEP);
	assert_int_equal(ha[0], CA_PLAN_WITHDRAW);	/* 10.2.0.0/16 */
	assert_int_equal(ha[1], CA_PLAN_KEEP);
	assert_int_equal(ha[2], CA_PLAN_WITHDRAW);

	/* A changed payload under the same subject is re-issued. */
	have[1].content_hash[0] ^= 1;
	assert_int_equal(ca_plan_diff(b, have, 2, wa, ha, &err), 2);
	assert_int_equal(wa[0], CA_PLAN_ISSUE);
	assert_int_equal(ha[1], CA_PLAN_KEEP);
	ca_plan_free(a);
	ca_plan_free(b);
	ca_res_free(r);
}

static void
test_aspa_as0_merge(void **state)
{
	struct ca_res		*r = res_of("64496", "", "");
	uint32_t		 none[] = { 0 }, some[] = { 65000 };
	struct ca_plan_aspa_cfg	 aspa[] = { { 64496, none, 1 }, { 64496, some, 1 } };
	struct ca_plan		*p;
	struct cm_err		 err;

	assert_int_equal(ca_plan_build(r, CA_PLAN_ROA_PER_ASN, NULL, 0, aspa, 2,
	    &p, &err), 0);
	assert_int_equal(p->nobjs, 1);
	assert_int_equal(p->objs[0].aspa->nproviders, 1);
	assert_int_equal(p->objs[0].aspa->providers[0], 65000);
	ca_plan_free(p);
	assert_int_equal(ca_plan_build(r, CA_PLAN_ROA_PER_ASN, NULL, 0, aspa, 1,
	    &p, &err), 0);
	assert_int_equal(p->objs[0].aspa->providers[0], 0);
	ca_plan_free(p);
	ca_res_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_roa),
		cmocka_unit_test(test_check_aspa),
		cmocka_unit_test(test_build_per_asn),
		cmocka_unit_test(test_build_per_prefix_and_diff),
		cmocka_unit_test(test_aspa_as0_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
