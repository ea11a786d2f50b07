"""Tests for sim.analysis.queueing: published values, closed forms, independent numerics, properties.

Expected numbers come from the literature (listed in docs/validation.md), textbook closed forms, or an
independent computation inside the test (matrix exponential, ODE solver, normal distribution).
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.stats import norm

from sim.analysis.queueing import (
    erlang_a,
    erlang_b,
    erlang_c,
    garnett_staffing,
    halfin_whitt_beta,
    halfin_whitt_staffing,
    min_agents_erlang_a,
    min_agents_erlang_c,
    offered_load_mol,
    offered_load_mol_boundaries,
    staffing_per_interval,
)

AHT_S = 180.0


# ---------------------------------------------------------------- Erlang B and C


def test_erlang_b_published_value():
    # Standard Erlang B table: 10 erlangs on 10 trunks blocks 21.46%.
    assert erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)


@pytest.mark.parametrize("a", [0.3, 1.0, 4.5])
def test_erlang_b_small_closed_forms(a):
    assert erlang_b(0, a) == 1.0
    assert erlang_b(1, a) == pytest.approx(a / (1 + a), rel=1e-12)
    assert erlang_b(2, a) == pytest.approx((a * a / 2) / (1 + a + a * a / 2), rel=1e-12)


def test_erlang_c_published_check():
    # a = 10 erlangs, n = 14, AHT 180 s: C = 0.1741, SL(20 s) = 0.8884, ASA = 7.84 s.
    result = erlang_c(14, 10 / AHT_S, 1 / AHT_S)
    assert round(result.p_wait, 4) == 0.1741
    assert round(result.service_level(20.0), 4) == 0.8884
    assert result.mean_wait == pytest.approx(7.84, abs=0.005)  # printed to 2 decimals
    assert result.utilisation == pytest.approx(10 / 14)


@pytest.mark.parametrize("rho", [0.2, 0.7, 0.95])
def test_erlang_c_matches_mm1_and_mm2(rho):
    mu = 0.5
    mm1 = erlang_c(1, rho * mu, mu)
    assert mm1.p_wait == pytest.approx(rho, rel=1e-12)
    assert mm1.mean_wait == pytest.approx(rho / (mu - rho * mu), rel=1e-12)
    # M/M/2: P(wait) = 2 rho^2 / (1 + rho) with rho = lambda / (2 mu).
    mm2 = erlang_c(2, 2 * rho * mu, mu)
    assert mm2.p_wait == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-12)


def test_erlang_c_unstable_load_does_not_raise():
    for agents in (5, 6):  # a > n and a == n
        result = erlang_c(agents, 6.0, 1.0)
        assert result.p_wait == 1.0
        assert result.mean_wait == math.inf
        assert result.service_level(1e6) == 0.0


def test_erlang_c_large_system_is_finite_and_monotone():
    values = [erlang_c(n, 1950.0, 1.0) for n in range(1951, 2101, 10)]
    p_wait = np.array([v.p_wait for v in values])
    mean_wait = np.array([v.mean_wait for v in values])
    assert np.all((p_wait >= 0) & (p_wait <= 1))
    assert np.all(np.isfinite(mean_wait))
    assert np.all(np.diff(p_wait) < 0)
    assert np.all(np.diff(mean_wait) < 0)
    # Halfin-Whitt is very accurate at this size: beta = 50 / sqrt(1950).
    beta = 50 / math.sqrt(1950)
    halfin_whitt = 1 / (1 + beta * norm.cdf(beta) / norm.pdf(beta))
    assert erlang_c(2000, 1950.0, 1.0).p_wait == pytest.approx(halfin_whitt, rel=0.05)
    assert 0 < erlang_b(2000, 1950.0) < 1


# ---------------------------------------------------------------- Erlang A


def test_erlang_a_published_check():
    # lambda = 2/min, 1/mu = 4 min, 1/theta = 5 min, n = 9 (Mandelbaum & Zeltyn).
    result = erlang_a(9, 2.0, 1 / 4, 1 / 5)
    assert round(result.p_wait, 4) == 0.4253
    assert round(result.p_abandon, 4) == 0.0822
    # Abandonment is theta times the mean wait of all arrivals (exponential patience).
    assert result.p_abandon == pytest.approx(result.mean_wait / 5, rel=1e-9)


def test_erlang_a_tends_to_erlang_c():
    lam, mu = 10 / AHT_S, 1 / AHT_S
    exact = erlang_c(14, lam, mu)
    for theta in (1e-9, 0.0):
        approx = erlang_a(14, lam, mu, theta)
        assert approx.p_wait == pytest.approx(exact.p_wait, rel=1e-6)
        assert approx.mean_wait == pytest.approx(exact.mean_wait, rel=1e-6)
        assert approx.p_abandon == pytest.approx(0.0, abs=1e-6)
        for t in (0.0, 5.0, 20.0, 60.0, 600.0):
            assert approx.service_level(t) == pytest.approx(exact.service_level(t), abs=1e-7)
            assert approx.wait_cdf(t) == pytest.approx(exact.service_level(t), abs=1e-7)


def _truncated_generator_stationary(n, lam, mu, theta, size):
    """Stationary law of M/M/n+M truncated at `size` states, by a plain linear solve."""
    q = np.zeros((size, size))
    for k in range(size):
        if k + 1 < size:
            q[k, k + 1] = lam
        if k > 0:
            q[k, k - 1] = min(k, n) * mu + max(k - n, 0) * theta
        q[k, k] = -q[k].sum()
    a = np.vstack([q.T, np.ones(size)])
    b = np.zeros(size + 1)
    b[-1] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]


def test_erlang_a_wait_law_matches_tagged_customer_chain():
    # Independent route: stationary law by linear algebra, then the tagged customer's chain
    # (j ahead -> j-1 at n mu + j theta, -> abandoned at theta, 0 -> served at n mu) by expm.
    n, lam, mu, theta, size = 3, 2.5, 1.0, 0.7, 80
    pi = _truncated_generator_stationary(n, lam, mu, theta, size)
    ahead = size - n
    served, abandoned = ahead, ahead + 1
    g = np.zeros((ahead + 2, ahead + 2))
    for j in range(ahead):
        g[j, j - 1 if j > 0 else served] = n * mu + j * theta
        g[j, abandoned] = theta
        g[j, j] = -g[j].sum()
    result = erlang_a(n, lam, mu, theta)
    assert result.p_wait == pytest.approx(pi[n:].sum(), rel=1e-9)
    for t in (0.1, 0.5, 1.0, 3.0):
        transition = expm(g * t)
        start = pi[n:]
        served_by_t = pi[:n].sum() + start @ transition[:ahead, served]
        absorbed = transition[:ahead, served] + transition[:ahead, abandoned]
        ended_by_t = pi[:n].sum() + start @ absorbed
        assert result.service_level(t) == pytest.approx(served_by_t, abs=1e-9)
        assert result.wait_cdf(t) == pytest.approx(ended_by_t, abs=1e-9)


def test_erlang_a_boundaries():
    result = erlang_a(9, 2.0, 0.25, 0.2)
    assert result.wait_cdf(0.0) == pytest.approx(1 - result.p_wait, abs=1e-12)
    assert result.service_level(0.0) == pytest.approx(1 - result.p_wait, abs=1e-12)
    assert result.service_level(math.inf) == pytest.approx(1 - result.p_abandon, abs=1e-12)
    # Nobody to serve: everyone waits their patience and leaves.
    empty = erlang_a(0, 2.0, 0.25, 0.2)
    assert empty.p_wait == pytest.approx(1.0, abs=1e-12)
    assert empty.p_abandon == pytest.approx(1.0)
    assert empty.mean_wait == pytest.approx(5.0)
    assert empty.service_level(10.0) == 0.0


def test_erlang_a_overload_follows_fluid_limit():
    # lambda > n mu: the fluid model loses (lambda - n mu) / lambda and the waiting customers
    # abandon at theta, so the mean wait is P(Ab) / theta; big n makes the fluid limit tight.
    result = erlang_a(2000, 2500.0, 1.0, 0.5)
    assert result.p_abandon == pytest.approx(0.2, abs=2e-3)
    assert result.p_wait == pytest.approx(1.0, abs=1e-9)
    assert math.isfinite(result.mean_wait)


def test_erlang_a_without_usable_truncation_raises_instead_of_exhausting_memory():
    # Overload with near-zero abandonment puts the queue near 2e9: refuse rather than allocate.
    with pytest.raises(ValueError, match="queue states"):
        erlang_a(1, 3.0, 1.0, 1e-9)
    # Without abandonment the same overload is plainly unstable (Erlang C), not an error.
    unstable = erlang_a(1, 3.0, 1.0, 0.0)
    assert unstable.p_wait == 1.0
    assert unstable.mean_wait == math.inf
    assert unstable.service_level(10.0) == 0.0


def test_erlang_a_large_system_is_finite_and_monotone():
    results = [erlang_a(n, 1950.0, 1.0, 0.5) for n in range(1900, 2101, 25)]
    p_wait = np.array([r.p_wait for r in results])
    p_abandon = np.array([r.p_abandon for r in results])
    assert np.all((p_wait >= 0) & (p_wait <= 1))
    assert np.all(np.isfinite([r.mean_wait for r in results]))
    assert np.all(np.diff(p_wait) < 0)
    assert np.all(np.diff(p_abandon) < 0)


# ---------------------------------------------------------------- staffing


def test_halfin_whitt_beta_inverts_the_halfin_whitt_function():
    for target in (0.8, 0.5, 0.2, 0.01, 1e-6):
        beta = halfin_whitt_beta(target)
        assert beta > 0
        assert 1 / (1 + beta * norm.cdf(beta) / norm.pdf(beta)) == pytest.approx(target, rel=1e-8)


def test_halfin_whitt_staffing():
    assert halfin_whitt_staffing(100.0, 1.0) == 110
    assert halfin_whitt_staffing(100.0, 1.05) == 111
    # Square-root staffing is close to exact Erlang C staffing for large loads.
    for target in (0.5, 0.2, 0.05):
        exact = min_agents_erlang_c(400.0, 1.0, target, kind="p_wait")
        assert abs(halfin_whitt_staffing(400.0, halfin_whitt_beta(target)) - exact) <= 1


def test_garnett_staffing_close_to_exact_erlang_a():
    # The published Erlang A case has P(W > 0) = 0.4253 at n = 9.
    assert abs(garnett_staffing(2.0, 0.25, 0.2, 0.43) - 9) <= 1
    for target in (0.5, 0.2, 0.05):
        exact = min_agents_erlang_a(400.0, 1.0, 0.5, target, kind="p_wait")
        assert abs(garnett_staffing(400.0, 1.0, 0.5, target) - exact) <= 1
    # No abandonment reduces to Halfin-Whitt.
    assert garnett_staffing(400.0, 1.0, 0.0, 0.2) == halfin_whitt_staffing(
        400.0, halfin_whitt_beta(0.2)
    )


@pytest.mark.parametrize(
    ("kind", "target", "threshold"),
    [("service_level", 0.8, 20.0), ("service_level", 0.95, 60.0), ("p_wait", 0.1, None),
     ("mean_wait", 5.0, None)],
)
def test_min_agents_erlang_c_is_minimal(kind, target, threshold):
    lam, mu = 50 / AHT_S, 1 / AHT_S

    def meets(n):
        r = erlang_c(n, lam, mu)
        if kind == "service_level":
            return r.service_level(threshold) >= target
        return (r.p_wait if kind == "p_wait" else r.mean_wait) <= target

    n = min_agents_erlang_c(lam, mu, target, kind=kind, threshold=threshold)
    assert n > 50
    assert meets(n)
    assert not meets(n - 1)


def test_min_agents_erlang_c_published_case():
    # SL(20 s) = 0.8884 at n = 14: a 0.888 target needs exactly 14 agents, 0.889 needs 15.
    assert min_agents_erlang_c(10 / AHT_S, 1 / AHT_S, 0.888, threshold=20.0) == 14
    assert min_agents_erlang_c(10 / AHT_S, 1 / AHT_S, 0.889, threshold=20.0) == 15


@pytest.mark.parametrize(
    ("kind", "target", "threshold"),
    [("service_level", 0.8, 20.0), ("p_wait", 0.3, None), ("p_abandon", 0.05, None),
     ("p_abandon", 0.2, None), ("mean_wait", 10.0, None)],
)
def test_min_agents_erlang_a_is_minimal(kind, target, threshold):
    lam, mu, theta = 50 / AHT_S, 1 / AHT_S, 1 / 120

    def meets(n):
        r = erlang_a(n, lam, mu, theta)
        if kind == "service_level":
            return r.service_level(threshold) >= target
        return getattr(r, kind) <= target

    n = min_agents_erlang_a(lam, mu, theta, target, kind=kind, threshold=threshold)
    assert meets(n)
    assert not meets(n - 1)


def test_abandonment_can_need_fewer_agents_than_the_load():
    # With patience, a loose abandonment target is met below R = 50 (impossible for Erlang C).
    n = min_agents_erlang_a(50 / AHT_S, 1 / AHT_S, 1 / 60, 0.2, kind="p_abandon")
    assert n < 50


def test_invalid_targets_raise():
    with pytest.raises(ValueError):
        min_agents_erlang_c(1.0, 1.0, 0.8)  # service level without a threshold
    with pytest.raises(ValueError):
        min_agents_erlang_c(1.0, 1.0, 1.0, kind="p_wait", threshold=None)
    with pytest.raises(ValueError):
        halfin_whitt_beta(0.0)


# ---------------------------------------------------------------- time-varying load


def test_mol_constant_rate_is_stationary_offered_load():
    times = np.arange(9) * 900.0
    rates = np.full(8, 0.2)
    mu = 1 / 300
    assert np.allclose(offered_load_mol(times, rates, mu), 60.0, rtol=1e-12)
    assert np.allclose(offered_load_mol_boundaries(times, rates, mu), 60.0, rtol=1e-12)


def test_mol_matches_ode_solution_and_lags_steps():
    rng = np.random.default_rng(7)
    times = np.cumsum(np.concatenate(([0.0], rng.uniform(100, 1200, size=6))))
    rates = rng.uniform(0.0, 0.5, size=6)
    mu, m0 = 1 / 400, 30.0

    def rhs(t, m):
        i = min(np.searchsorted(times, t, side="right") - 1, rates.size - 1)
        return rates[i] - mu * m

    boundaries = offered_load_mol_boundaries(times, rates, mu, initial_load=m0)
    means = offered_load_mol(times, rates, mu, initial_load=m0)
    m = m0
    for i in range(rates.size):
        grid = np.linspace(times[i], times[i + 1], 2001)
        sol = solve_ivp(rhs, (times[i], times[i + 1]), [m], t_eval=grid, rtol=1e-10, atol=1e-10)
        m = sol.y[0, -1]
        assert boundaries[i + 1] == pytest.approx(m, rel=1e-7)
        average = np.trapezoid(sol.y[0], grid) / (times[i + 1] - times[i])
        assert means[i] == pytest.approx(average, rel=1e-5)  # trapezoid error, 2000 steps

    # A step up: m starts at the old level and climbs towards the new one without reaching it.
    step = offered_load_mol_boundaries([0, 600, 1200], [0.1, 0.3], mu)
    assert step[1] == pytest.approx(0.1 / mu)
    assert 0.1 / mu < step[2] < 0.3 / mu


def test_staffing_per_interval_sipp_and_mol():
    mu, interval = 1 / 600, 900.0
    rates = np.array([0.1, 0.1, 0.4, 0.4, 0.4, 0.1, 0.1])
    sipp = staffing_per_interval(rates, interval, mu, 0.8, "sipp", threshold=30.0)
    expected = [min_agents_erlang_c(r, mu, 0.8, threshold=30.0) for r in rates]
    assert sipp.dtype.kind == "i"
    assert sipp.tolist() == expected
    mol = staffing_per_interval(rates, interval, mu, 0.8, "mol", threshold=30.0)
    mol_mean = staffing_per_interval(
        rates, interval, mu, 0.8, "mol", threshold=30.0, mol_statistic="mean"
    )
    # Flat start: no lag. Just after the rise the MOL is still below the new level; just after
    # the drop it is still above the old one, so MOL keeps agents SIPP already released.
    assert mol[0] == sipp[0]
    assert mol[2] < sipp[2]
    assert mol[5] > sipp[5]
    assert np.all(mol_mean <= mol)
    # Constant load: MOL and SIPP agree.
    flat = np.full(4, 0.25)
    assert np.array_equal(
        staffing_per_interval(flat, interval, mu, 0.8, "mol", threshold=30.0),
        staffing_per_interval(flat, interval, mu, 0.8, "sipp", threshold=30.0),
    )
    # Patience lowers the staffing needed for the same served-within-30 s target.
    with_patience = staffing_per_interval(
        rates, interval, mu, 0.8, "sipp", threshold=30.0, abandon_rate=1 / 120
    )
    assert np.all(with_patience <= sipp)


# ---------------------------------------------------------------- properties

loads = st.floats(min_value=0.01, max_value=300.0)
agents = st.integers(min_value=1, max_value=400)


@settings(max_examples=60, deadline=None)
@given(n=agents, a=loads, theta=st.just(0.0) | st.floats(min_value=1e-3, max_value=5.0))
def test_probabilities_are_valid_and_abandonment_helps(n, a, theta):
    c = erlang_c(n, a, 1.0)
    r = erlang_a(n, a, 1.0, theta)
    assert 0.0 <= erlang_b(n, a) <= 1.0
    assert 0.0 <= c.p_wait <= 1.0
    assert 0.0 <= r.p_abandon <= r.p_wait <= 1.0
    # Impatient customers only shorten the queue.
    assert r.p_wait <= c.p_wait + 1e-9
    assert erlang_c(n + 1, a, 1.0).p_wait <= c.p_wait + 1e-12


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=60),
    rho=st.floats(min_value=0.05, max_value=1.5),
    theta=st.floats(min_value=1e-3, max_value=3.0),
    times=st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=2, max_size=5),
)
def test_service_level_increases_with_threshold(n, rho, theta, times):
    ts = sorted(times)
    # Monotone up to round-off: the truncated-chain sums carry ~1e-12 absolute error, so a
    # probability near zero may read 1e-12 at one threshold and 0.0 at the next.
    tol = 1e-9
    c = erlang_c(n, rho * n, 1.0)
    r = erlang_a(n, rho * n, 1.0, theta)
    for lo, hi in itertools.pairwise(ts):
        assert c.service_level(lo) <= c.service_level(hi) + tol
        assert r.service_level(lo) <= r.service_level(hi) + tol
        assert r.wait_cdf(lo) <= r.wait_cdf(hi) + tol
    for t in ts:
        # Ending the wait by t includes being served by t.
        assert r.service_level(t) <= r.wait_cdf(t) + tol
        assert 0.0 <= r.service_level(t) <= 1.0
