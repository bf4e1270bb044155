"""conformance.testing: what a vendor imports into their own pytest suite."""

from __future__ import annotations

import pytest
import requests

from conformance.testing import assert_conforms
from conformance.verdicts.violation import ClauseViolation

pytest_plugins = ["pytester"]


def _get(handle, path: str) -> requests.Response:
    return requests.get(
        f"{handle.base_url}/v2{path}",
        headers={"Authorization": f"Basic {handle.keys[0]}"},
        verify=handle.ca_bundle,
        timeout=10,
    )


def test_assert_conforms_passes_a_correct_answer_and_names_the_broken_clause(reference_server):
    assert_conforms(_get(reference_server(), "/mailing_lists/cftnothere"))  # a correct 404
    broken = reference_server(faults=("env-extra-key",))
    with pytest.raises(ClauseViolation) as info:
        assert_conforms(_get(broken, "/mailing_lists/cftnothere"), secrets=tuple(broken.keys))
    assert info.value.clause == "ENV-1" and "[ENV-1]" in str(info.value)


def test_vendor_suite_uses_the_fixture_and_helper(pytester):
    pytester.makeconftest('pytest_plugins = ["conformance.testing"]\n')
    pytester.makepyfile(
        """
        import requests
        from conformance.testing import assert_conforms

        def test_my_server_answers_conformingly(reference_server):
            r = requests.get(reference_server.base_url + "/v1/campaigns", verify=reference_server.ca_bundle,
                             headers={"Authorization": "Basic " + reference_server.keys[0]}, timeout=10)
            assert_conforms(r)
            assert r.status_code == 200
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "0")
    result.assert_outcomes(passed=1)
