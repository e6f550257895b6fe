// The webhook records every event id it committed under the stream-events container, so a redelivery (Event Grid
// retries for at most 24 hours) is recognised even when regrouped. Older records can never match again: the
// account's lifecycle policy deletes them.

param storageAccountName string

@description('Container of the delivery records.')
param containerName string

@description('Days a delivery record is kept; longer than the subscription\'s event time-to-live (at most one day).')
@minValue(2)
param retentionDays int

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-stream-delivery-records'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterCreationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}
