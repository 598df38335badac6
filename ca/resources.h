/*
 * ca_res: RFC 3779 resource sets (AS numbers, IPv4, IPv6), each family either
 * an explicit canonical list of ranges or "inherit".
 *
 * Status: implemented in ca/resources.c (docs/resources.md).
 *
 * Sets are always kept canonical: ranges sorted, overlapping and adjacent
 * ranges merged.  Text forms are those of RFC 6492 §3.4.1:
 * "AS64496-AS64511,AS65000" or "64496-64511,65000"; "10.0.0.0/8,
 * 192.0.2.0-192.0.2.130"; "2001:db8::/32".  Printing emits prefixes where a
 * range is exactly one prefix, ranges otherwise, and no "AS" prefix.
 *
 * Parsing is strict about syntax (no whitespace, no empty elements, decimal
 * AS numbers without leading zeros, full dotted-quad IPv4, no host bits
 * beyond a prefix length, min <= max, no bare addresses: use a/32 or a/128)
 * but accepts elements in any order, overlapping or adjacent, and
 * canonicalises them.  "inherit" parses to and prints from inherit.
 */
#ifndef CA_RESOURCES_H
#define CA_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cm_err.h"

enum ca_res_family { CA_RES_AS = 0, CA_RES_V4 = 1, CA_RES_V6 = 2 };

/* One inclusive range; v4 uses the first 4 octets, AS uses as_min/as_max. */
struct ca_res_range {
	uint32_t	as_min, as_max;
	uint8_t		ip_min[16], ip_max[16];
};

/* Opaque; create with ca_res_new(), free with ca_res_free(). */
struct ca_res;

/* Empty set (all families present-but-empty, none inherit); NULL on ENOMEM. */
struct ca_res	*ca_res_new(void);
/* Deep copy; NULL on ENOMEM. */
struct ca_res	*ca_res_dup(const struct ca_res *r);
void		 ca_res_free(struct ca_res *r);	/* accepts NULL */

/*
 * Parses the RFC 6492 text of one family into r (replacing that family).
 * "" means empty.  obj names the input in err.  Returns 0 or -1 (CM_EINVAL).
 */
int	ca_res_parse(struct ca_res *r, enum ca_res_family f, const char *text,
	    const char *obj, struct cm_err *err);
/*
 * Prints family f canonically into a malloc'd string (*out, caller frees);
 * "" when empty, "inherit" when inherit.  Returns 0 or -1.
 */
int	ca_res_print(const struct ca_res *r, enum ca_res_family f, char **out,
	    struct cm_err *err);

/*
 * Adds one range (min <= max) to explicit family f, keeping it canonical;
 * -1 (CM_EINVAL) when f is inherit or the range is reversed.
 */
int	ca_res_add(struct ca_res *r, enum ca_res_family f,
	    const struct ca_res_range *rg, struct cm_err *err);
/* Makes f inherit (or explicit and empty when inherit is 0). */
void	ca_res_set_inherit(struct ca_res *r, enum ca_res_family f, int inherit);
int	ca_res_is_inherit(const struct ca_res *r, enum ca_res_family f);
/* Number of canonical ranges in f and read access to range i (borrowed). */
size_t	ca_res_count(const struct ca_res *r, enum ca_res_family f);
const struct ca_res_range *ca_res_get(const struct ca_res *r,
	    enum ca_res_family f, size_t i);

/*
 * Set algebra over explicit families; a family that is inherit in either
 * operand is an error (CM_EINVAL) for these: the caller resolves inherit
 * against the issuer first.  Results are new sets the caller frees.
 */
int	ca_res_union(const struct ca_res *a, const struct ca_res *b,
	    struct ca_res **out, struct cm_err *err);
int	ca_res_intersect(const struct ca_res *a, const struct ca_res *b,
	    struct ca_res **out, struct cm_err *err);
int	ca_res_subtract(const struct ca_res *a, const struct ca_res *b,
	    struct ca_res **out, struct cm_err *err);
/* 1 when every resource of sub is in super, 0 when not, -1 on error. */
int	ca_res_contains(const struct ca_res *super, const struct ca_res *sub,
	    struct cm_err *err);
int	ca_res_equal(const struct ca_res *a, const struct ca_res *b);
/* 1 when no family holds a resource and none is inherit. */
int	ca_res_is_empty(const struct ca_res *r);
/*
 * 1/0: prefix addr/plen (v4: 4 octets; host bits ignored) or AS as is
 * inside r; 0 when that family is inherit or plen is out of range.
 */
int	ca_res_has_prefix(const struct ca_res *r, enum ca_res_family f,
	    const uint8_t *addr, unsigned int plen);
int	ca_res_has_as(const struct ca_res *r, uint32_t as);

/*
 * Conversion to the OpenSSL RFC 3779 types, canonized.  *addr / *asid are
 * new objects the caller frees (NULL when the set has no such family;
 * free *addr with sk_IPAddressFamily_pop_free(addr, IPAddressFamily_free)).
 * An AS set holding AS0 alone as a range 0-0 is refused (CM_EINVAL): it
 * would encode as the AS identifier 0, which RFC 6487 profiles exclude.
 */
int	ca_res_to_x509(const struct ca_res *r, IPAddrBlocks **addr,
	    ASIdentifiers **asid, struct cm_err *err);
/*
 * Strict extraction from a certificate: both extensions critical, canonical
 * DER, no SAFI, no duplicate AFI, no RDI, no AS0 as a single AS identifier
 * (a range starting at 0 is allowed), no empty set, at least one of the two
 * present.  Inherit is reported per family; a family absent from the
 * certificate is empty and not inherit.  *out is a new set the caller frees.
 * Returns 0 or -1 (CM_EINVAL naming obj and the rule).
 */
int	ca_res_from_x509(X509 *x, const char *obj, struct ca_res **out,
	    struct cm_err *err);

#endif
