from . import aliexpress_onboarding_wizard
from . import aliexpress_initial_import_wizard
