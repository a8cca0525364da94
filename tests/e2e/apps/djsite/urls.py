from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse("Hello from Django")


@csrf_exempt
def form(request):
    return HttpResponse(f"name={request.POST['name']} method={request.method}")


def api(request, item_id):
    return JsonResponse({"id": item_id, "q": request.GET.get("q"), "host": request.get_host()})


@csrf_exempt
def upload(request):
    f = request.FILES["file"]
    data = f.read()
    return JsonResponse({"filename": f.name, "size": len(data)})


async def async_view(request):
    import asyncio
    await asyncio.sleep(0)
    return JsonResponse({"async": True, "path": request.path})


urlpatterns = [
    path("", index),
    path("form", form),
    path("api/items/<int:item_id>", api),
    path("upload", upload),
    path("async", async_view),
]
