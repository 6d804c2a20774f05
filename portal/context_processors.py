from django.conf import settings


def portal(request):
    return {"DEBUG": settings.DEBUG, "LANGUAGES": settings.LANGUAGES}
