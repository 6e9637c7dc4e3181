// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ICMP echo responder: turns an IPv4 echo request into its reply in place and sends it back out
 * of the device it arrived on, so the kernel's own ICMP code never sees the request. This is the
 * "BPF" configuration of the ping-latency experiment, run either at a guest's own tc ingress or,
 * through the dispatcher, at dom0's NIC.
 *
 * Everything the rewrite cannot answer exactly like the kernel would is passed on untouched:
 * non-IPv4, VLAN-tagged frames, IP options, fragments, truncated or corrupted headers, group
 * addresses and every ICMP message but an echo request with code 0.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "nf/icmp_echo_abi.h"
#include "nf/parsing.h"

/* Answer only requests to this IPv4 address (network byte order); 0 answers any destination. */
const volatile __u32 only_daddr = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct icmp_echo_counters);
} icmp_echo_stats SEC(".maps");

/* What the rewrite reads and writes: Ethernet, an option-less IPv4 header, the ICMP header. */
#define ECHO_HDR_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct icmphdr))

static __always_inline void count(int answered)
{
	__u32 key = 0;
	struct icmp_echo_counters *counters = bpf_map_lookup_elem(&icmp_echo_stats, &key);

	if (!counters)
		return;
	if (answered)
		counters->answered++;
	else
		counters->passed++;
}

/* Multicast (224.0.0.0/4) or the limited broadcast: the kernel never answers those by default. */
static __always_inline int ipv4_is_group(__be32 addr)
{
	return (addr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) || addr == 0xffffffff;
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/*
 * Rewrites an echo request frame into its reply. pkt_len is the whole frame's length, which for
 * a non-linear skb exceeds data_end - data. Returns 1 if the frame now holds the reply, 0 if it
 * must pass; nothing is written in that case.
 */
static __always_inline int echo_rewrite(void *data, void *data_end, __u32 pkt_len)
{
	struct hdr_cursor nh = { .pos = data };
	struct icmphdr *icmph;
	struct ethhdr *eth;
	struct iphdr *iph;
	__u32 tot_len;
	__be32 addr;

	if (parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IP))
		return 0;
	/* Never reply to or from a group MAC (broadcast pings, spoofed sources). */
	if ((eth->h_dest[0] | eth->h_source[0]) & 1)
		return 0;
	if (parse_iphdr(&nh, data_end, &iph) != IPPROTO_ICMP)
		return 0;
	/* Options would have to be reflected or stripped (RFC 1122 3.2.2.6): the kernel's job. */
	if (iph->ihl != 5)
		return 0;
	/* Only the first fragment carries the ICMP header; reassembly is the kernel's job. */
	if (iph->frag_off & bpf_htons(NF_IP_MF | NF_IP_OFFSET))
		return 0;
	/* A datagram cut short would be answered with a payload the checksum does not cover. */
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < sizeof(*iph) + sizeof(*icmph) || sizeof(*eth) + tot_len > pkt_len)
		return 0;
	if (only_daddr && iph->daddr != only_daddr)
		return 0;
	if (ipv4_is_group(iph->daddr))
		return 0;
	if (parse_icmphdr(&nh, data_end, &icmph) != ICMP_ECHO || icmph->code != 0)
		return 0;
	/* The stack drops a corrupted header; answering it would hide the corruption. */
	if (!ipv4_csum_ok(iph))
		return 0;

	swap_macs(eth);
	/* Swapping two words of the IP header leaves its sum, hence its checksum, unchanged. TTL is
	 * kept as received.
	 */
	addr = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = addr;
	/* Only the type/code word of the ICMP message changes: (8, 0) -> (0, 0). */
	icmph->type = ICMP_ECHOREPLY;
	csum_replace16(&icmph->checksum, bpf_htons(ICMP_ECHO << 8), bpf_htons(ICMP_ECHOREPLY << 8));
	return 1;
}

/* IPv4 carrying ICMP, read with bpf_skb_load_bytes(), which works whatever is linear. */
static __always_inline int may_be_icmp(struct __sk_buff *skb)
{
	__u8 ip_proto;
	__be16 proto;

	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto)) < 0 ||
	    proto != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + offsetof(struct iphdr, protocol),
			       &ip_proto, sizeof(ip_proto)) < 0)
		return 0;
	return ip_proto == IPPROTO_ICMP;
}

SEC("tc")
int icmp_echo_tc(struct __sk_buff *skb)
{
	void *data, *data_end;

	/* At tc ingress the stack has already moved an 802.1Q tag from the frame into the skb; a
	 * reply built from the frame would go out untagged, so tagged traffic goes to the kernel.
	 */
	if (skb->vlan_present)
		goto pass;
	/* Zero-copy senders (trafgen, AF_PACKET TX rings) produce non-linear skbs whose linear part
	 * holds only the Ethernet header; without the pull every bounds check below fails and the
	 * request silently passes. The pull fails for frames shorter than the headers.
	 */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ECHO_HDR_LEN > data_end) {
		/* Pull only what may be answered: the pull can copy a cloned skb, a cost a flood of
		 * other traffic should not pay.
		 */
		if (!may_be_icmp(skb) || bpf_skb_pull_data(skb, ECHO_HDR_LEN) < 0)
			goto pass;
		/* The pull may move the data: every packet pointer is invalid now. */
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	if (!echo_rewrite(data, data_end, skb->len))
		goto pass;
	count(1);
	/* Out of the egress of the device the request came in on. */
	return bpf_redirect(skb->ifindex, 0);
pass:
	count(0);
	return TC_ACT_OK;
}

SEC("xdp")
int icmp_echo_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* Not a frags program, so the whole frame is in [data, data_end). */
	if (!echo_rewrite(data, data_end, data_end - data)) {
		count(0);
		return XDP_PASS;
	}
	count(1);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
