/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ABI of udp_drop.bpf.c, shared with the C++ loader (nfb/bpf/udp_drop.h), which static_asserts
 * the layout so a change here that is not mirrored there breaks the build.
 */
#ifndef NF_UDP_DROP_ABI_H
#define NF_UDP_DROP_ABI_H

#include <linux/types.h>

/*
 * Value of the single-entry ARRAY udp_drop_config (key 0). User space may rewrite it at any time;
 * the program reads it once per packet. Both fields are in network byte order, so the bytes a
 * guest writes through bpfd mean the same whatever dom0's byte order.
 */
struct udp_drop_config {
	__be32 only_daddr; /* drop only datagrams to this IPv4 address; 0: to any address */
	__be16 port; /* UDP destination port to drop; 0 (the initial value): drop nothing */
	__u16 reserved; /* 0 */
};

/* Value of the single-entry PERCPU_ARRAY udp_drop_stats (key 0); user space sums the CPUs. */
struct udp_drop_counters {
	__u64 dropped; /* datagrams to the configured port (and address): TC_ACT_SHOT / XDP_DROP */
	__u64 passed; /* every other packet, handed on untouched (TC_ACT_OK / XDP_PASS) */
};

#endif /* NF_UDP_DROP_ABI_H */
