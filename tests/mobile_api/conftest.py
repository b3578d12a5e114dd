from tests.fakes.sms_provider import sms_provider  # noqa: F401 - the SMS tests' fixture
from tests.fakes.smtp_server import smtp_server  # noqa: F401 - the e-mail link tests' fixture
