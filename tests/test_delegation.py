"""The delegation gate (hrsaas/runner/delegation.py): a first deploy stops after the dns layer,
with the name servers to set, until public DNS delegates the domain to the new zone."""

from __future__ import annotations

from hrsaas.runner import delegation

ZONE_NS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk.", "NS-3.awsdns-03.com",
           "ns-4.awsdns-04.net"]


def test_delegated_when_public_dns_returns_the_zones_servers():
    found = {"ns-1.awsdns-01.org.", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com",
             "ns-4.awsdns-04.net"}
    result = delegation.check("hr.example.com", ZONE_NS, resolver=lambda _: found)
    assert result.ok


def test_not_delegated_stops_with_the_servers_to_set():
    result = delegation.check("hr.example.com", ZONE_NS,
                              resolver=lambda _: {"a.iana-servers.net"})
    assert not result.ok
    text = result.explain("mvp-dns", "make deploy ENV=mvp CONFIRM=mvp")
    for ns in ("ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com"):
        assert f"    {ns}\n" in text + "\n"
    assert "a.iana-servers.net" in text and "make deploy ENV=mvp CONFIRM=mvp" in text
    assert "edge.hosted_zone_id" in text and delegation.SKIP_VARIABLE in text


def test_a_partial_or_empty_answer_is_not_a_delegation():
    assert not delegation.check("d.example", ZONE_NS, resolver=lambda _: set(ZONE_NS[:2])).ok
    assert not delegation.check("d.example", ZONE_NS, resolver=lambda _: set()).ok
    assert not delegation.check("d.example", [], resolver=lambda _: set(ZONE_NS)).ok


def test_a_failed_lookup_stops_and_says_why_without_hanging():
    def offline(_: str) -> set[str]:
        raise delegation.LookupFailed("cloudflare-dns.com: timed out")

    result = delegation.check("hr.example.com", ZONE_NS, resolver=offline)
    assert not result.ok and result.found is None
    assert "the lookup failed (cloudflare-dns.com: timed out)" in result.explain("s", "c")


def test_the_lookup_gives_up_on_unreachable_resolvers(monkeypatch):
    monkeypatch.setattr(delegation, "RESOLVERS", ("http://127.0.0.1:9/dns-query",))
    try:
        delegation.public_name_servers("hr.example.com", timeout=1)
    except delegation.LookupFailed as exc:
        assert "127.0.0.1:9" in str(exc)
    else:
        raise AssertionError("an unreachable resolver must fail the lookup")


def test_skip_is_explicit(monkeypatch):
    monkeypatch.delenv(delegation.SKIP_VARIABLE, raising=False)
    assert not delegation.skipped()
    monkeypatch.setenv(delegation.SKIP_VARIABLE, "1")
    assert delegation.skipped()


def test_the_runner_stops_after_the_dns_layer_until_delegated(synth_dir):
    from hrsaas.runner.stacks import Runner, StackFailed

    runner = Runner("mvp", synth_dir, quiet=True)
    out = {"domain": "mvp.hr.example.com", "name_servers": ZONE_NS}
    runner.resolver = lambda _: set()
    try:
        runner.check_delegation("mvp-dns", out)
    except StackFailed as exc:
        # A failure of the dns stack: the graph runner then skips only what depends on it.
        assert exc.action == "delegation check" and exc.stack == "mvp-dns"
        assert "ns-1.awsdns-01.org" in exc.first_error
        assert "make deploy ENV=mvp CONFIRM=mvp" in exc.first_error
    else:
        raise AssertionError("an undelegated zone must stop the run")
    # Other layers are never checked, even with name servers in their outputs.
    runner.check_delegation("mvp-edge", out)
    # An existing zone (edge.hosted_zone_id) has no name servers to wait for.
    runner.check_delegation("mvp-dns", {**out, "name_servers": []})
    runner.resolver = lambda _: set(ZONE_NS)
    runner.check_delegation("mvp-dns", out)
    # The emulator has no public DNS: nothing to check there.
    local = Runner("local", synth_dir, quiet=True)
    local.resolver = lambda _: set()
    local.check_delegation("local-dns", out)
