from tests.fakes.sms_provider import sms_provider  # noqa: F401 - invitation SMS tests' fixture
