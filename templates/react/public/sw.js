// The service worker that shows this app's push notifications. Valet's outbox sends each one as
// JSON: { title, body?, icon?, url?, data?, id, deliveryKey } (ctx.push.enqueue's notification,
// plus the outbox message's id).
self.addEventListener('push', (event) => {
  let message;
  try {
    message = event.data ? event.data.json() : { title: 'New notification' };
  } catch {
    message = { title: event.data.text() };
  }
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      icon: message.icon,
      // One notification per outbox message, even if the push service delivers it twice.
      tag: message.id,
      data: { url: message.url ?? '/', ...(message.data && typeof message.data === 'object' ? message.data : {}) },
    }),
  );
});

// A click focuses the app's tab if it is open (at the notification's url), else opens one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url ?? '/', self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url === url) ?? windows[0];
      if (open) return open.focus().then((client) => (client && client.url !== url ? client.navigate(url) : client));
      return self.clients.openWindow(url);
    }),
  );
});
