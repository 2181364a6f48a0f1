# kubesub's image: Node 24 runs the TypeScript sources directly (type stripping), so the image
# holds production dependencies and src/ only. Build: docker build -t kubesub:0.1.0 .
FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
USER 10001:10001
EXPOSE 4000
ENTRYPOINT ["node", "src/main.ts"]
CMD ["--host", "0.0.0.0"]
