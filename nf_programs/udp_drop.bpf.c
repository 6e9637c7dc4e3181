// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UDP port filter: drops IPv4 UDP datagrams to one destination port (and, optionally, one
 * destination address) and passes everything else untouched. This is the "BPF" handling of the
 * flood experiments: at a guest's own tc ingress, or offloaded through the dispatcher to dom0's
 * NIC (XenBPF), where the flood never reaches the bridge, the copy into the guest or its kernel.
 *
 * Passed: other ports, TCP, ICMP, ARP, IPv6 (the filter is IPv4 only), VLAN-tagged frames (they
 * belong to a VLAN device, not to this interface's own traffic), non-first IPv4 fragments (they
 * carry no UDP header; without the first fragment, which is dropped, the kernel cannot reassemble
 * the datagram and discards the rest when its reassembly timer runs out) and malformed or
 * truncated headers (the kernel discards those itself). IPv4 options are skipped (IHL > 5).
 *
 * The port and address come from the map udp_drop_config, written by user space (directly, or by
 * a guest through bpfd's map update): a program offloaded through bpfd cannot be tuned through
 * .rodata between open and load. The map starts zeroed, i.e. port 0, which drops nothing, so the
 * program is harmless between its attachment and its configuration.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "nf/parsing.h"
#include "nf/udp_drop_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct udp_drop_config);
} udp_drop_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct udp_drop_counters);
} udp_drop_stats SEC(".maps");

static __always_inline void count(int dropped)
{
	__u32 key = 0;
	struct udp_drop_counters *counters = bpf_map_lookup_elem(&udp_drop_stats, &key);

	if (!counters)
		return;
	if (dropped)
		counters->dropped++;
	else
		counters->passed++;
}

/* The configured port (0: drop nothing) and address; read once per packet. */
static __always_inline __be16 load_config(__be32 *only_daddr)
{
	__u32 key = 0;
	const struct udp_drop_config *config = bpf_map_lookup_elem(&udp_drop_config, &key);

	if (!config)
		return 0;
	*only_daddr = config->only_daddr;
	return config->port;
}

/*
 * Whether the fixed part of an IPv4 header announces a datagram that may be one to drop: a UDP
 * datagram long enough for its header, to the configured address, and the first (or only)
 * fragment, the only one with a UDP header.
 */
static __always_inline int ipv4_udp_candidate(const struct iphdr *iph, __be32 only_daddr)
{
	if (iph->version != 4 || iph->ihl < 5 || iph->protocol != IPPROTO_UDP)
		return 0;
	if (iph->frag_off & bpf_htons(NF_IP_OFFSET))
		return 0;
	if (bpf_ntohs(iph->tot_len) < iph->ihl * 4 + sizeof(struct udphdr))
		return 0;
	return !only_daddr || iph->daddr == only_daddr;
}

/* The headers of an option-less IPv4 UDP datagram, as one copy. */
struct ipv4_udp_headers {
	struct iphdr ip;
	struct udphdr udp;
};

SEC("tc")
int udp_drop_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv4_udp_headers copy;
	const struct udphdr *udph;
	const struct iphdr *iph;
	__be32 only_daddr = 0;
	__be16 port;
	__u32 udp_off;

	port = load_config(&only_daddr);
	if (!port)
		goto pass;
	/* A tag the stack moved into the skb before tc ingress: a VLAN device's traffic. The
	 * EtherType comes from the skb too (eth_type_trans), so nothing is read for non-IPv4.
	 */
	if (skb->vlan_present || skb->protocol != bpf_htons(ETH_P_IP))
		goto pass;
	/*
	 * Headers are read in place when the skb's linear part holds them, as it does for what the
	 * stack and most senders build. Zero-copy senders (trafgen's TX ring, AF_PACKET) deliver
	 * skbs whose linear part holds only the Ethernet header, and bounds checks against data_end
	 * alone would pass every one of them. Their headers are copied out with one
	 * bpf_skb_load_bytes(), which reads across fragments. bpf_skb_pull_data() would work too,
	 * but it copies the headers into a reallocated skb head, work wasted on a packet about to
	 * be dropped: measured on trafgen's non-linear frames, one 28-byte load costs about 50 ns
	 * per packet, two loads (IP, then UDP) 80-110 ns, the pull about 220 ns
	 * (docs/nf-programs.md).
	 */
	if (data + ETH_HLEN + sizeof(copy) <= data_end) {
		iph = data + ETH_HLEN;
		udph = NULL;
	} else {
		/* Fails for frames too short for IPv4 and UDP headers: nothing to drop there. */
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &copy, sizeof(copy)) < 0)
			goto pass;
		iph = &copy.ip;
		udph = &copy.udp;
	}
	if (!ipv4_udp_candidate(iph, only_daddr))
		goto pass;
	/* With IP options (IHL > 5) the UDP header is further on than the copy reached. */
	udp_off = ETH_HLEN + iph->ihl * 4;
	if (!udph || iph->ihl != 5) {
		if (data + udp_off + sizeof(*udph) <= data_end) {
			udph = data + udp_off;
		} else {
			/* Fails when the frame ends inside the UDP header: passed as truncated. */
			if (bpf_skb_load_bytes(skb, udp_off, &copy.udp, sizeof(copy.udp)) < 0)
				goto pass;
			udph = &copy.udp;
		}
	}
	if (udph->dest != port)
		goto pass;
	count(1);
	return TC_ACT_SHOT;
pass:
	count(0);
	return TC_ACT_OK;
}

SEC("xdp")
int udp_drop_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor nh = { .pos = data };
	struct udphdr *udph;
	struct ethhdr *eth;
	struct iphdr *iph;
	__be32 only_daddr = 0;
	__be16 port;

	/* Not a frags program, so the whole frame is in [data, data_end). A VLAN tag is still in
	 * the frame here: its EtherType is 0x8100 and the frame passes.
	 */
	port = load_config(&only_daddr);
	if (!port || parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IP))
		goto pass;
	if (parse_iphdr(&nh, data_end, &iph) != IPPROTO_UDP || !ipv4_udp_candidate(iph, only_daddr))
		goto pass;
	udph = nh.pos;
	if ((void *)(udph + 1) > data_end || udph->dest != port)
		goto pass;
	count(1);
	return XDP_DROP;
pass:
	count(0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
