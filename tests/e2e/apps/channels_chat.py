"""A Django Channels project in one file for the asgi worker's tests: an
`AsyncWebsocketConsumer` per room (echo, and broadcast to the room's
group through the in-memory channel layer), Django for plain HTTP."""

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        SECRET_KEY="test-only-not-secret",
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["channels"],
        DATABASES={},
        USE_TZ=True,
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


class Room(AsyncWebsocketConsumer):
    """`echo:TEXT` comes back to its sender alone; any other text goes to
    everyone in the room as `NAME: TEXT`; bytes are echoed."""

    async def connect(self):
        self.group = "room-" + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            await self.send(bytes_data=bytes_data)
        elif text_data.startswith("echo:"):
            await self.send(text_data=text_data[len("echo:"):])
        else:
            await self.channel_layer.group_send(self.group, {"type": "room.message", "text": text_data})

    async def room_message(self, event):
        await self.send(text_data="room: " + event["text"])


def index(request):
    return HttpResponse("channels here")


urlpatterns = [path("", index)]

application = ProtocolTypeRouter({
    "http": get_asgi_application(),
    "websocket": URLRouter([path("ws/<str:room>", Room.as_asgi())]),
})
