"""Creating the backup container in a real Azurite over HTTPS, as the local stand-in does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.targets.blob_container import Endpoint, create_container
from pipelines.targets.local_certificates import issue_set
from tests.support.azurite import Azurite, running_azurite


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with running_azurite(tmp_path_factory.mktemp("azurite")) as running:
        yield running


def _endpoint(azurite: Azurite, server_name: str = "localhost") -> Endpoint:
    """Connect by address, verify the certificate for `server_name` (as for a cluster IP)."""
    return Endpoint("127.0.0.1", azurite.port, server_name, azurite.ca_file.read_bytes())


def test_creates_once_then_reports_it_exists(azurite: Azurite) -> None:
    assert create_container(_endpoint(azurite), azurite.account, azurite.key, "repo-a") is True
    assert create_container(_endpoint(azurite), azurite.account, azurite.key, "repo-a") is False
    assert azurite.service_client().get_container_client("repo-a").exists()


def test_a_wrong_key_is_refused_with_the_service_answer(azurite: Azurite) -> None:
    wrong = "A" * 86 + "=="
    with pytest.raises(RuntimeError, match=r"HTTP 403"):
        create_container(_endpoint(azurite), azurite.account, wrong, "repo-b")


def test_a_certificate_for_another_name_is_refused(azurite: Azurite) -> None:
    with pytest.raises(OSError, match="certificate verify failed"):
        create_container(
            _endpoint(azurite, "azurite.inventory.svc"), azurite.account, azurite.key, "repo-c"
        )


def test_an_untrusted_ca_is_refused(azurite: Azurite) -> None:
    other_ca, _ = issue_set({})
    endpoint = Endpoint("127.0.0.1", azurite.port, "localhost", other_ca)
    with pytest.raises(OSError, match="certificate verify failed"):
        create_container(endpoint, azurite.account, azurite.key, "repo-d")
