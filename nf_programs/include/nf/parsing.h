/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bounds-checked header parsers shared by the network functions, in the style of xdp-tools
 * headers/xdp/parsing_helpers.h: a cursor walks the packet, every parser checks the header fits
 * before reading it and returns a negative value when it does not, so callers let the packet pass.
 *
 * VLAN tags are deliberately not parsed: a tagged frame reports ETH_P_8021Q/ETH_P_8021AD as its
 * protocol and therefore never matches an IPv4 rule.
 */
#ifndef NF_PARSING_H
#define NF_PARSING_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Not exported by the UAPI headers (they live in the kernel's net/ip.h). */
#define NF_IP_MF 0x2000
#define NF_IP_OFFSET 0x1fff

struct hdr_cursor {
	void *pos;
};

/* Returns the EtherType in network byte order, or -1 if the header is truncated. */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	*ethhdr = eth;
	return eth->h_proto;
}

/*
 * Returns the IP protocol, or -1 if the header is truncated, not version 4 or has an IHL below 5.
 * Options are accepted (the cursor skips them); callers that cannot handle them check ihl.
 */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end, struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;
	int hdrsize;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (iph->version != 4)
		return -1;
	hdrsize = iph->ihl * 4;
	if (hdrsize < (int)sizeof(*iph))
		return -1;
	if (nh->pos + hdrsize > data_end)
		return -1;
	nh->pos += hdrsize;
	*iphdr = iph;
	return iph->protocol;
}

/* Returns the ICMP type, or -1 if the 8-byte ICMP header is truncated. */
static __always_inline int parse_icmphdr(struct hdr_cursor *nh, void *data_end,
					 struct icmphdr **icmphdr)
{
	struct icmphdr *icmph = nh->pos;

	if ((void *)(icmph + 1) > data_end)
		return -1;
	nh->pos = icmph + 1;
	*icmphdr = icmph;
	return icmph->type;
}

/* Returns the UDP payload length from the header, or -1 if truncated or the length is invalid. */
static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end,
					struct udphdr **udphdr)
{
	struct udphdr *udph = nh->pos;
	int len;

	if ((void *)(udph + 1) > data_end)
		return -1;
	nh->pos = udph + 1;
	*udphdr = udph;
	len = bpf_ntohs(udph->len) - (int)sizeof(*udph);
	if (len < 0)
		return -1;
	return len;
}

/* Folds a 32-bit one's-complement sum to 16 bits and complements it (a checksum field value). */
static __always_inline __u16 csum_fold_helper(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/*
 * Incremental update of a checksum when one 16-bit word changes from old to new, RFC 1624
 * eqn. 3: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never produces 0xffff for a nonzero result,
 * so the updated field equals what a full recomputation gives. Byte order does not matter as
 * long as the field and both words are taken from the packet as stored.
 */
static __always_inline void csum_replace16(__sum16 *sum, __be16 old, __be16 new)
{
	__u32 csum = (__u16)~*sum;

	csum += (__u16)~old;
	csum += (__u16)new;
	*sum = csum_fold_helper(csum);
}

/* True if the checksum of an option-less (IHL 5) IPv4 header is valid. */
static __always_inline int ipv4_csum_ok(const struct iphdr *iph)
{
	const __u16 *word = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += word[i];
	return csum_fold_helper(sum) == 0;
}

#endif /* NF_PARSING_H */
