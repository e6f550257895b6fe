// Second stage: run only after the app's code is deployed. Event Grid sends the CloudEvents abuse-protection
// handshake (HTTP OPTIONS) to the webhook when the subscription is created, and the URL carries the host's default
// function key, which exists once the Functions host has started.

param topicName string
param functionAppName string

@description('Route prefix of the app\'s HTTP functions (host.json).')
param routePrefix string

@description('Model the events are scored with: the last segment of the streams/{model} route.')
@minLength(1)
@maxLength(64)
param model string

@description('Resource id of the storage account that holds the dead-letter container.')
param deadLetterStorageAccountId string

@description('Container that receives events Event Grid gave up on.')
param deadLetterContainerName string

@description('Most events in one delivery (one invocation of the webhook).')
@minValue(1)
@maxValue(5000)
param maxEventsPerBatch int

@description('Target size of one delivery; a single bigger event still goes alone.')
@minValue(1)
@maxValue(1024)
param preferredBatchSizeInKilobytes int

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@description('Minutes Event Grid keeps retrying an event before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// The host's default function key, read at deployment time, never stored in the template or its outputs.
var functionKey = listKeys('${site.id}/host/default', '2024-04-01').functionKeys.default

resource subscription 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'score-${model}'
  properties: {
    // A webhook authenticates with the key in its URL: delivery with a managed identity (deliveryWithResourceIdentity)
    // exists only for Azure-resource destinations (queues, Event Hubs, Service Bus), so delivery stays a plain destination.
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${site.properties.defaultHostName}/${routePrefix}/streams/${model}?code=${functionKey}'
        maxEventsPerBatch: maxEventsPerBatch
        preferredBatchSizeInKilobytes: preferredBatchSizeInKilobytes
      }
    }
    // Delivered as CloudEvents 1.0 (a batch is application/cloudevents-batch+json), validated by the OPTIONS handshake.
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // A 400 or 413 from the webhook (a batch that can never succeed) goes here at once; the rest after the retries.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = subscription.name
