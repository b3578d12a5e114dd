from tests.fakes.sms_provider import sms_provider  # noqa: F401 - the SMS tests' fixture
